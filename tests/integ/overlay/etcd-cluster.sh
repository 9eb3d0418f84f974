#!/bin/bash
# netd on a three-member etcd cluster (one member per host): a stopped
# member does not stop the cluster (clients fail over, watches resume on
# another member), and a full etcd outage loses no events: what happened
# while etcd was away reaches the peers when it is back.
. "$ND_SRC/tests/integ/lib/netns.sh"

nd_underlay h1 h2 h3
CL="m1=http://10.99.0.1:2380,m2=http://10.99.0.2:2380,m3=http://10.99.0.3:2380"
declare -A MP
for i in 1 2 3; do nd_etcd "h$i" "m$i" "10.99.0.$i" "$CL"; MP[$i]=$ND_ETCD_PID; done
nd_etcd_ready h1 10.99.0.1 || exit 1
ND_ETCD_URL=etcd://10.99.0.1:2379,10.99.0.2:2379,10.99.0.3:2379
for i in 1 2 3; do
        nd_start_node "h$i" "$i" --node-ttl 5 || exit 1
        nd_rootfs "h$i"
done
ip_of() { nd_ctl "$1" inspect "$2" | jq -r '.[0].Endpoints[0].IPAddress'; }

t_ok "create an overlay network" nd_ctl h2 network create -d overlay --subnet 10.62.0.0/24 ov
t_ok "run a on h1" nd_ctl h1 run -d --name a --network ov sleep 600
t_ok "run b on h2" nd_ctl h2 run -d --name b --network ov sleep 600
t_ok "a reaches b" nd_eventually 3 nd_in h1 a ping -c 1 -W 1 b

kill -9 "${MP[1]}"
wait "${MP[1]}" 2>/dev/null
t_ok "member m1 stopped: run c on h1 (its first endpoint is m1)" nd_ctl h1 run -d --name c --network ov sleep 600
t_ok "h2 sees c" nd_eventually 10 nd_in h2 b ping -c 1 -W 1 c || { nd_ctl h2 network inspect ov | jq -c ".[0].Overlay.RemoteEndpoints"; grep -E "watch|etcd" "$ND_TMP/h2/netd.log" | tail -8; }
t_ok "run d on h3" nd_ctl h3 run -d --name d --network ov sleep 600
t_ok "h1's watch moved to another member: a reaches d by name" nd_eventually 5 nd_in h1 a ping -c 1 -W 1 d
nd_etcd h1 m1 10.99.0.1 "$CL" existing

# a full outage: every member down, changes meanwhile, then back
for i in 1 2 3; do kill -9 "${MP[$i]}" 2>/dev/null; done
kill -9 "$ND_ETCD_PID" 2>/dev/null
sleep 0.5
t_ok "etcd down: stop b on h2 (its withdrawal waits)" nd_ctl h2 stop -t 1 b
t_ok "etcd down: run e on h3 (an address block it already holds)" nd_ctl h3 run -d --name e --network ov sleep 600
sleep 1
for i in 1 2 3; do nd_etcd "h$i" "m$i" "10.99.0.$i" "$CL" existing; done
nd_etcd_ready h1 10.99.0.1 || exit 1
t_ok "after the restart h1 hears that b left" nd_eventually 10 sh -c "! bridge -n ${ND_NSP}-h1 fdb show | grep -q 'dst 10.99.0.2'"
t_ok "and that e arrived" nd_eventually 10 nd_in h1 a ping -c 1 -W 1 e
t_ok "a new container after the restart is seen at once" nd_ctl h2 run -d --name f --network ov sleep 600
t_ok "a reaches f" nd_eventually 5 nd_in h1 a ping -c 1 -W 1 f
t_eq "no watch needed a full re-read" "$(nd_ctl h1 network ls >/dev/null; curl -s --unix-socket "$(nd_sock h1)" http://netd/v1/info | jq '.Cluster.Resyncs')" "0"
nd_done
