#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""docs/architecture.md against the build: every static library that a
meson.build defines is in the doc's library table with its folder and its
direct netd dependencies, every library the table names exists, and every
.c file of a library folder is built.  Exit 1 with the differences."""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
errors = []

# meson: static_library('nd-x', files..., dependencies : [...]) -> folder, deps
libs = {}
dep_of_var = {}
built = set()
for root in ('netd', 'ipam', 'dns', 'overlay', 'runtime'):
    for dirpath, _, names in os.walk(os.path.join(src, root)):
        if 'meson.build' not in names:
            continue
        text = open(os.path.join(dirpath, 'meson.build')).read()
        rel = os.path.relpath(dirpath, src)
        # resolve simple list variables (x_deps = [a, b])
        lists = {m.group(1): m.group(2) for m in re.finditer(r'^(\w+)\s*=\s*\[([^\]]*)\]', text, re.M)}
        for m in re.finditer(r"(\w+)_lib\s*=\s*static_library\('([\w-]+)',(.*?)\)\n", text, re.S):
            var, name, body = m.group(1), m.group(2), m.group(3)
            srcs = re.findall(r"'([\w/.-]+\.c)'", body)
            folder = rel
            if srcs and '/' in srcs[0]:
                folder = os.path.normpath(os.path.join(rel, os.path.dirname(srcs[0])))
            for s in srcs:
                built.add(os.path.normpath(os.path.join(rel, s)))
            d = re.search(r'dependencies\s*:\s*(\[[^\]]*\]|\w+)', body)
            deps = d.group(1) if d else ''
            if not deps.startswith('['):
                deps = lists.get(deps, '')
            libs[name] = (folder + '/', set(re.findall(r'\bnd_[a-z_]+', deps)))
            dep_of_var[var] = name
        for m in re.finditer(r"executable\('[\w-]+',(.*?)\)\n", text, re.S):
            for s in re.findall(r"'([\w/.-]+\.c)'", m.group(1)):
                built.add(os.path.normpath(os.path.join(rel, s)))

for name, (folder, deps) in libs.items():
    libs[name] = (folder, {dep_of_var[d] for d in deps if d in dep_of_var})

# the doc's table: | `nd-x` | `folder/` | owns | depends on |
doc = open(os.path.join(src, 'docs', 'architecture.md')).read()
rows = {}
for m in re.finditer(r'^\| `(nd-[\w-]+)` \| `([\w/.-]+)` \|(.*)\|(.*)\|\s*$', doc, re.M):
    rows[m.group(1)] = (m.group(2), set(re.findall(r'`?(nd-[\w-]+)`?', m.group(4))))

for name, (folder, deps) in sorted(libs.items()):
    if name not in rows:
        errors.append(f'{name} ({folder}) is built but not in docs/architecture.md')
        continue
    dfolder, ddeps = rows[name]
    if dfolder != folder:
        errors.append(f'{name}: the doc says {dfolder}, meson builds it from {folder}')
    if ddeps != deps:
        errors.append(f'{name}: the doc says it depends on {sorted(ddeps)}, meson on {sorted(deps)}')
for name in sorted(set(rows) - set(libs)):
    errors.append(f'{name} is in docs/architecture.md but no meson.build defines it')

# every .c in a library folder is built by something
for name, (folder, _) in libs.items():
    for f in os.listdir(os.path.join(src, folder)):
        p = os.path.normpath(os.path.join(folder, f))
        if f.endswith('.c') and p not in built:
            errors.append(f'{p} is in a library folder but no meson.build builds it')

for e in errors:
    print('not ok -', e)
print(f'{len(libs)} libraries checked, {len(errors)} differences')
sys.exit(1 if errors else 0)
