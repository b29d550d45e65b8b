#!/usr/bin/python3
"""Many cloud nodes as mininet switches, VMs as mininet hosts (test/lab/mininet.test.ts drives it).

Run with the system Python (mininet is a Debian package) inside a network namespace the test made (its name is the
first argument), with OVS_RUNDIR naming that namespace's own OVS instance. Protocol: one JSON line per request on
stdin, one JSON line per reply on stdout. The first two requests are the topology (switches first, so they are made
while the test still creates the VMs whose ports the hosts need):
  {"switches": [{"name", "dpid"}]}                                            -> {"ok", "ms"}
  {"hosts": [{"name", "switch", "port", "ip": "a.b.c.d/len", "mac", "gateway"?}]}
                                                                              -> {"ready", "pids", "ms"}
Switches are user-space OVS bridges (datapath_type=netdev, OpenFlow13, fail_mode=secure) with no controller: the
test points them at its controller itself. A host's interface is `eth0`; its peer on the switch is named `port`
(the VM's port name, which is how the controller finds a VM's OpenFlow port). Then:
  {"cmd": "ping", "host", "ip", "count"}  -> {"ok", "output"}
  {"cmd": "add_host", ...host}           -> {"ok", "pid"}   (a host attached to a running switch)
  {"cmd": "quit"}                        -> {"ok"}, then ends every host and switch shell and exits, leaving bridges
                                            and links to the test (it removes the whole namespace and OVS instance)
End of stdin (the test died) stops the whole network the mininet way, then exits.

Never mininet's cleanup() or `mn -c`: they kill every OVS and controller process on the machine.
"""
import ipaddress
import json
import os
import subprocess
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import OVSSwitch


def require_namespace(name):
    """Mininet's links and switch ports go to the namespace we run in: only ever the test's own."""
    here = subprocess.run(['ip', 'netns', 'identify', str(os.getpid())], capture_output=True, text=True, check=False)
    if not name or here.stdout.strip() != name:
        sys.exit('mininet-cloud: must run inside network namespace %r (ip netns exec), not %r'
                 % (name, here.stdout.strip()))


def add_host(net, spec, running=False):
    host = net.addHost(spec['name'], ip=spec['ip'], mac=spec['mac'])
    switch = net.get(spec['switch'])
    link = net.addLink(host, switch, intfName1='eth0', intfName2=spec['port'])
    if running:  # else Mininet.start() configures hosts and adds the ports
        host.configDefault()
        switch.attach(link.intf2)
        add_route(host, spec)
    return host


def add_route(host, spec):
    """A default route through the subnet's gateway IP, for a host that talks to other subnets."""
    if spec.get('gateway'):
        host.cmd('ip route add default via %s' % ipaddress.ip_address(spec['gateway']))


def main():
    require_namespace(sys.argv[1] if len(sys.argv) > 1 else '')
    # Replies go to the real stdout; anything mininet prints goes to stderr.
    out = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)
    setLogLevel('warning')
    # Mininet.init() raises machine-wide sysctls (fs.file-max, net.core.*): not ours to change.
    Mininet.inited = True

    def reply(obj):
        out.write(json.dumps(obj) + '\n')

    net = Mininet(controller=None, build=False, autoSetMacs=False)
    ms = {}
    lap = [time.time()]

    def timed(phase):
        now = time.time()
        ms[phase] = int((now - lap[0]) * 1000)
        lap[0] = now

    tidy = True
    try:
        for s in json.loads(sys.stdin.readline())['switches']:
            net.addSwitch(s['name'], cls=OVSSwitch, dpid=s['dpid'], datapath='user', protocols='OpenFlow13',
                          failMode='secure', batch=True)
        timed('switches')
        reply({'ok': True, 'ms': ms})
        hosts = json.loads(sys.stdin.readline())['hosts']
        for h in hosts:
            add_host(net, h)
        timed('hosts')
        net.start()  # configures the hosts, then one ovs-vsctl for every bridge and port
        for h in hosts:
            add_route(net.get(h['name']), h)
        timed('start')
        reply({'ready': True, 'pids': [n.pid for n in net.hosts + net.switches], 'ms': ms})
        for line in sys.stdin:
            req = json.loads(line)
            try:
                if req['cmd'] == 'ping':
                    ip = ipaddress.ip_address(req['ip'])  # it goes into a shell line
                    text = net.get(req['host']).cmd('ping -c %d -i 0.2 -W 1 %s' % (int(req['count']), ip))
                    reply({'ok': ' 0% packet loss' in text, 'output': text})
                elif req['cmd'] == 'quit':
                    tidy = False
                    reply({'ok': True})
                    break
                elif req['cmd'] == 'add_host':
                    host = add_host(net, req, running=True)
                    reply({'ok': True, 'pid': host.pid})
                else:
                    reply({'ok': False, 'error': 'unknown command'})
            except Exception as e:  # pylint: disable=broad-except
                reply({'ok': False, 'error': str(e)})
    finally:
        if tidy:
            net.stop()
        else:
            for node in net.hosts + net.switches:
                node.terminate()


if __name__ == '__main__':
    main()
