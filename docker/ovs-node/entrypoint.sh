#!/bin/sh
# One lab node: ovsdb-server + ovs-vswitchd (userspace datapath), br0 as the controller expects it
# (fail_mode=secure, OpenFlow13, the datapath id derived from the node's name), pointed at the controller.
# Environment:
#   NODE_NAME               node name as registered with `minicloud node add` (default: the hostname)
#   MINICLOUD_CONTROLLER    OpenFlow target, tcp:HOST:PORT or ssl:HOST:PORT (default tcp:controller:6653); a host
#                           name is resolved here, since OVS may be built without DNS support
#   MINICLOUD_UNDERLAY      underlay NIC moved onto br-phy for userspace VXLAN (default eth0; empty: no tunnels)
set -eu
NODE_NAME=${NODE_NAME:-$(hostname)}
TARGET=${MINICLOUD_CONTROLLER:-tcp:controller:6653}
UNDERLAY=${MINICLOUD_UNDERLAY-eth0}

mkdir -p /var/run/openvswitch /var/log/openvswitch /etc/openvswitch
[ -f /etc/openvswitch/conf.db ] || ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server /etc/openvswitch/conf.db --remote=punix:/var/run/openvswitch/db.sock \
  --pidfile --detach --log-file --no-chdir
ovs-vsctl --no-wait init
ovs-vswitchd --pidfile --detach --log-file --no-chdir -vconsole:off

# The controller recognises a node by its datapath id: 4d43 + the first 48 bits of sha256("minicloud-node:NAME").
DPID="4d43$(printf 'minicloud-node:%s' "$NODE_NAME" | sha256sum | cut -c1-12)"
ovs-vsctl --may-exist add-br br0 -- set bridge br0 datapath_type=netdev fail_mode=secure protocols=OpenFlow13 \
  other_config:datapath-id="$DPID"
ip link set br0 up

if [ -n "$UNDERLAY" ] && ip link show "$UNDERLAY" >/dev/null 2>&1; then
  # Userspace tunnelling: the underlay address lives on an OVS bridge of its own, the NIC is its port.
  ADDR=$(ip -4 -o addr show dev "$UNDERLAY" | awk '{print $4; exit}')
  GW=$(ip -4 route show default | awk '{print $3; exit}')
  if [ -n "$ADDR" ]; then
    ethtool -K "$UNDERLAY" tx off >/dev/null 2>&1 || true   # checksum offload trap (docs/troubleshooting.md)
    ovs-vsctl --may-exist add-br br-phy -- set bridge br-phy datapath_type=netdev \
      -- --may-exist add-port br-phy "$UNDERLAY"
    ip addr flush dev "$UNDERLAY"
    ip addr add "$ADDR" dev br-phy
    ip link set br-phy up
    [ -z "$GW" ] || ip route replace default via "$GW" dev br-phy
    ovs-vsctl --may-exist add-port br0 vxlan-int -- set interface vxlan-int type=vxlan \
      options:local_ip="${ADDR%/*}" options:remote_ip=flow options:key=flow
  fi
fi

case "$TARGET" in
  tcp:*:*|ssl:*:*)
    proto=${TARGET%%:*}; rest=${TARGET#*:}; host=${rest%:*}; port=${rest##*:}
    ip=$(getent ahostsv4 "$host" | awk '{print $1; exit}')
    TARGET="$proto:${ip:-$host}:$port" ;;
esac
ovs-vsctl set-controller br0 "$TARGET"
echo "minicloud-ovs-node: $NODE_NAME br0 datapath id $DPID, controller $TARGET"

stop() { ovs-appctl -t ovs-vswitchd exit; ovs-appctl -t ovsdb-server exit; exit 0; }
trap stop TERM INT
while :; do sleep 3600 & wait $!; done
