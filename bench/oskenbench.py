#!/usr/bin/python3
"""The os-ken side of bench/codec.ts: the same codec work done by os-ken 2.5 (Debian python3-os-ken).

Run with the system Python (/usr/bin/python3), which has os_ken:  /usr/bin/python3 bench/oskenbench.py INPUT.json

INPUT.json (written by bench/codec.ts):
  specs          seed-shape flows: [{shape, mac, ip, vni, hostIp, port}], shapes 'remote_vm', 'local_vm', 'routed', 'arp'
  flowModHex     the FLOW_MODs miniCloud encoded for the same specs (decode input; the same bytes for both sides)
  flowStatsHex   a flow-stats reply of N entries split into <= 64 KiB multipart messages (decode input)

It serves rounds, so that bench/codec.ts can interleave them with its own and both sides are timed over the same
minutes of a noisy machine. After setup it prints one JSON line: os-ken's version, Python's, and os-ken's own
encoding of the first flow of each shape (hex) so the caller can check both sides encode the same thing. Then, for
each line 'enc', 'dec' or 'stats' read on stdin, it runs one pass (after one untimed warm-up pass the first time) and
prints {"wall": seconds, "cpu": seconds (time.process_time), "items": n}. EOF or 'quit' ends it.
"""
import json
import sys
import time

from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

GW_MAC = '12:00:00:ff:ff:ff'


class FakeDatapath:
    ofproto = ofp
    ofproto_parser = parser
    id = 1

    def set_xid(self, msg):
        msg.set_xid(1)


DP = FakeDatapath()


def flow_mod(spec):
    shape = spec['shape']
    if shape == 'remote_vm':
        table, prio = 10, 15
        match = parser.OFPMatch(eth_dst=spec['mac'])
        actions = [parser.OFPActionSetField(tunnel_id=spec['vni']),
                   parser.OFPActionSetField(tun_ipv4_dst=spec['hostIp']),
                   parser.OFPActionOutput(1, 0)]
    elif shape == 'local_vm':
        table, prio = 10, 15
        match = parser.OFPMatch(eth_dst=spec['mac'])
        actions = [parser.OFPActionOutput(spec['port'], 0)]
    elif shape == 'routed':
        table, prio = 10, 10
        match = parser.OFPMatch(eth_type=0x0800, ipv4_dst=spec['ip'])
        actions = [parser.OFPActionSetField(eth_src=GW_MAC),
                   parser.OFPActionSetField(eth_dst=spec['mac']),
                   parser.OFPActionSetField(tunnel_id=spec['vni']),
                   parser.OFPActionSetField(tun_ipv4_dst=spec['hostIp']),
                   parser.OFPActionOutput(1, 0)]
    elif shape == 'arp':
        table, prio = 50, 20
        match = parser.OFPMatch(eth_type=0x0806, arp_op=1, arp_tpa=spec['ip'])
        actions = [parser.NXActionRegMove(src_field='eth_src', dst_field='eth_dst', n_bits=48),
                   parser.OFPActionSetField(eth_src=spec['mac']),
                   parser.OFPActionSetField(arp_op=2),
                   parser.NXActionRegMove(src_field='arp_sha', dst_field='arp_tha', n_bits=48),
                   parser.OFPActionSetField(arp_sha=spec['mac']),
                   parser.NXActionRegMove(src_field='arp_spa', dst_field='arp_tpa', n_bits=32),
                   parser.OFPActionSetField(arp_spa=spec['ip']),
                   parser.OFPActionOutput(ofp.OFPP_IN_PORT, 0)]
    else:
        raise ValueError(shape)
    inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
    return parser.OFPFlowMod(DP, cookie=0, cookie_mask=0, table_id=table, command=ofp.OFPFC_ADD,
                             idle_timeout=0, hard_timeout=0, priority=prio, buffer_id=ofp.OFP_NO_BUFFER,
                             out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, flags=0, match=match,
                             instructions=inst)


def decode(buf):
    version, msg_type, msg_len, xid = ofproto_parser.header(buf)
    return ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)


def timed(fn):
    """fn's result (the items it did), and the wall-clock and CPU seconds (time.process_time) of the call."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    items = fn()
    return items, time.perf_counter() - t0, max(time.process_time() - c0, 1e-6)


def main():
    with open(sys.argv[1]) as f:
        inp = json.load(f)
    msgs = [flow_mod(s) for s in inp['specs']]
    fm_bytes = [bytes.fromhex(h) for h in inp['flowModHex']]
    stats_bytes = [bytes.fromhex(h) for h in inp['flowStatsHex']]

    def enc():
        for m in msgs:
            m.serialize()
        return len(msgs)

    def dec():
        for b in fm_bytes:
            decode(b)
        return len(fm_bytes)

    def dec_stats():
        n = 0
        for b in stats_bytes:
            n += len(decode(b).body)
        return n

    samples = {}
    for s, m in zip(inp['specs'], msgs):
        if s['shape'] not in samples:
            m.serialize()
            samples[s['shape']] = bytes(m.buf).hex()
    os_ken = __import__('os_ken')
    print(json.dumps({
        'oskenVersion': getattr(os_ken, '__version__', '?'),
        'python': sys.version.split()[0],
        'samples': samples,
    }), flush=True)

    work = {'enc': enc, 'dec': dec, 'stats': dec_stats}
    warm = set()
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'quit':
            break
        fn = work.get(cmd)
        if fn is None:
            print(json.dumps({'error': f'unknown command {cmd!r}'}), flush=True)
            continue
        if cmd not in warm:
            fn()
            warm.add(cmd)
        items, wall, cpu = timed(fn)
        print(json.dumps({'wall': wall, 'cpu': cpu, 'items': items}), flush=True)


if __name__ == '__main__':
    main()
