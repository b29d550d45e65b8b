#!/usr/bin/python3
"""bench/sync (e): os-ken 2.5 (Debian python3-os-ken) installing the same seed-shape flows into a real bridge.

Run by bench/sync.ts inside the lab node's namespace:
  OSKEN_BENCH_FLOWS=N OSKEN_BENCH_OUT=FILE /usr/bin/python3 /usr/bin/osken-manager \
      --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port PORT bench/osken-sync.py
When the bridge connects, the app sends N FLOW_MODs (ADD) the way an os-ken app does (datapath.send_msg, one
message each; os-ken has no OpenFlow 1.3 bundle support), then a BARRIER, and writes to FILE, as JSON, the time from
the switch's FEATURES_REPLY to the BARRIER_REPLY (totalMs) and the part spent building and queueing messages (sendMs).
"""
import json
import os
import time

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3

N = int(os.environ.get('OSKEN_BENCH_FLOWS', '100000'))
OUT = os.environ.get('OSKEN_BENCH_OUT', '/tmp/osken-sync.json')
VXLAN_PORT = 1
GW_MAC = '12:00:00:ff:ff:ff'


def mac(i):
    return '02:00:' + ':'.join('%02x' % ((i >> s) & 255) for s in (24, 16, 8, 0))


def ip(i):
    return '10.%d.%d.%d' % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def host_ip(i):
    h = 0x0a630000 + (i % 200) + 1
    return '%d.%d.%d.%d' % ((h >> 24) & 255, (h >> 16) & 255, (h >> 8) & 255, h & 255)


def flow_mod(dp, i):
    """bench/sync.ts seedFlowText(i), built with os-ken's parser classes."""
    p = dp.ofproto_parser
    vni = 100 + (i % 64)
    tunnel = [p.OFPActionSetField(tunnel_id=vni), p.OFPActionSetField(tun_ipv4_dst=host_ip(i)), p.OFPActionOutput(VXLAN_PORT, 0)]
    if i % 2 == 0:
        prio, match, actions = 15, p.OFPMatch(eth_dst=mac(i)), tunnel
    else:
        prio = 10
        match = p.OFPMatch(eth_type=0x0800, ipv4_dst=ip(i))
        actions = [p.OFPActionSetField(eth_src=GW_MAC), p.OFPActionSetField(eth_dst=mac(i))] + tunnel
    inst = [p.OFPInstructionActions(dp.ofproto.OFPIT_APPLY_ACTIONS, actions)]
    return p.OFPFlowMod(dp, table_id=10, priority=prio, match=match, instructions=inst)


class SyncBench(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.t0 = None
        self.send_ms = None

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_features(self, ev):
        dp = ev.msg.datapath
        if self.t0 is not None:
            return
        self.t0 = time.monotonic()
        for i in range(N):
            dp.send_msg(flow_mod(dp, i))
        self.send_ms = (time.monotonic() - self.t0) * 1000
        dp.send_msg(dp.ofproto_parser.OFPBarrierRequest(dp))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_barrier(self, ev):
        if self.t0 is None:
            return
        total = (time.monotonic() - self.t0) * 1000
        with open(OUT + '.tmp', 'w') as f:
            json.dump({'flows': N, 'totalMs': total, 'sendMs': self.send_ms}, f)
        os.rename(OUT + '.tmp', OUT)
