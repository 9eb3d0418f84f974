#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for netd's API on a unix socket, for testing netctl alone:
it appends each request (method, path, JSON body) as one JSON line to LOG
and answers the service routes (and POST /v1/containers) from a fixed
table, as docs/api.md describes them.  Usage: fake-netd.py SOCKET LOG"""
import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

SOCK, LOG = sys.argv[1], sys.argv[2]
NET_F = '0a132da5d46067e3c1e3fec5c02578bc0e39a2c9d70cc26e49f0b5e537fe5623'
NET_B = 'bb132da5d46067e3c1e3fec5c02578bc0e39a2c9d70cc26e49f0b5e537fe5623'
WEB = {
    'Id': 'f00dfeed' + '0' * 56, 'Name': 'web', 'EndpointMode': 'vip',
    'Networks': [{'Network': NET_F, 'VIP': '10.1.0.5'}, {'Network': NET_B, 'VIP': '10.2.0.9'}],
    'Ports': ['mode=ingress,8080:80/tcp', 'mode=host,53:53/udp'],
    'HealthCheck': {'Test': 'true', 'Interval': 5, 'Timeout': 2, 'Retries': 3},
    'Labels': {'k': 'v'}, 'Created': 1763895600, 'Node': '',
    'VirtualIPs': [{'Network': 'front', 'NetworkId': NET_F, 'Addr': '10.1.0.5'},
                   {'Network': 'back', 'NetworkId': NET_B, 'Addr': '10.2.0.9'}],
    'Tasks': [{'Id': 'c1' * 32, 'Name': 'web.1', 'Node': '', 'Network': 'front', 'Addr': '10.1.0.7',
               'Health': 'healthy'},
              {'Id': 'c2' * 32, 'Name': 'web.2', 'Node': '', 'Network': 'front', 'Addr': '10.1.0.8',
               'Health': 'starting'}],
}
DB = {
    'Id': 'dbdbdbdb' + '1' * 56, 'Name': 'db', 'EndpointMode': 'dnsrr',
    'Networks': [{'Network': NET_B}], 'Ports': [], 'Labels': {}, 'Created': 1763895601, 'Node': '',
    'VirtualIPs': [], 'Tasks': [{'Id': 'c3' * 32, 'Name': 'db.1', 'Node': '', 'Network': 'back',
                                 'Addr': '10.2.0.3', 'Health': 'none'}],
}
SERVICES = {'web': WEB, 'db': DB}
TASKS = [
    {'Name': 'web.1', 'Slot': '1', 'Node': '', 'Host': 'h1', 'Container': 'c1' * 32, 'DesiredState': 'running',
     'State': 'running', 'Since': 1763895600, 'Error': '', 'Version': 2, 'Restarts': 0, 'RetryAt': 0,
     'Health': 'healthy', 'Updating': False},
    {'Name': 'web.2', 'Slot': '2', 'Node': '', 'Host': 'h1', 'Container': 'c2' * 32, 'DesiredState': 'running',
     'State': 'failed', 'Since': 1763895600, 'Error': 'task exited with code 1', 'Version': 2, 'Restarts': 3,
     'RetryAt': 0, 'Health': '', 'Updating': False},
]
# what GET /v1/containers/ID answers for the tasks' logs (LOGDIR/ID.log)
LOGDIR = os.path.dirname(LOG)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def reply(self, status, body=None):
        data = b'' if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        body = json.loads(raw) if raw else None
        with open(LOG, 'a') as f:
            f.write(json.dumps({'method': self.command, 'path': self.path, 'body': body}) + '\n')
        m, p = self.command, self.path.split('?')[0]
        ref = p[len('/v1/services/'):] if p.startswith('/v1/services/') else None
        if m == 'POST' and p == '/v1/services':
            if body.get('Name') == 'taken':
                return self.reply(409, {'message': "service name 'taken' is in use"})
            return self.reply(201, dict(WEB, Name=body.get('Name'), Id='5e' * 32))
        if m == 'GET' and p == '/v1/services':
            return self.reply(200, [WEB, DB])
        if ref is not None and '/' in ref:
            name, action = ref.split('/', 1)
            if name not in SERVICES:
                return self.reply(404, {'message': "service '%s' not found" % name})
            if m == 'GET' and action == 'tasks':
                return self.reply(200, TASKS if name == 'web' else [])
            if m == 'POST' and action in ('scale', 'update', 'rollback'):
                if action == 'scale' and (body or {}).get('Replicas', 1) < 1:
                    return self.reply(400, {'message': "scale: 'Replicas' must be an integer from 1 to 256"})
                return self.reply(200, SERVICES[name])
            return self.reply(404, {'message': 'no route %s %s' % (m, p)})
        if m == 'GET' and p.startswith('/v1/containers/'):
            cid = p[len('/v1/containers/'):]
            return self.reply(200, {'Id': cid, 'Name': cid[:4], 'State': {'Status': 'running'},
                                    'LogPath': os.path.join(LOGDIR, cid + '.log')})
        if ref is not None and m in ('GET', 'DELETE'):
            if ref not in SERVICES:
                return self.reply(404, {'message': "no such service: '%s'" % ref})
            return self.reply(200, SERVICES[ref]) if m == 'GET' else self.reply(204)
        if m == 'POST' and p == '/v1/containers':
            return self.reply(201, {'Id': 'c4' * 32, 'Name': 'web.3'})
        return self.reply(404, {'message': 'no route %s %s' % (m, p)})

    do_GET = do_POST = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        # BaseHTTPRequestHandler wants a (host, port) client address
        sock, _ = self.socket.accept()
        return sock, ('local', 0)


if os.path.exists(SOCK):
    os.unlink(SOCK)
with Server(SOCK, Handler) as srv:
    srv.serve_forever()
