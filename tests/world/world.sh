#!/usr/bin/env bash
# The mailvet test world: unbound (the zones in zones/), dnsdist (DNS-over-HTTPS over plain HTTP,
# and plain DNS) and exim (SMTP that answers up to RCPT TO and never accepts a message), all on
# loopback, all living in one directory. README.md in this directory describes what it serves.
#
#   world.sh up DIR     create DIR, start the servers, write DIR/world.env and DIR/pids
#   world.sh down DIR   stop every process listed in DIR/pids (TERM, then KILL); idempotent
#
# Environment read by `up`:
#   MAILVET_WORLD_DOH_PORT, MAILVET_WORLD_DNS_PORT, MAILVET_WORLD_SMTP_PORT
#       fixed ports; a free port is picked for each one not given
#   MAILVET_WORLD_OWNER_PID
#       a process whose end stops the world, for owners that may die without running `down`
#
# Process layout: `up` starts a supervisor (`world.sh supervise DIR`) in a session of its own; the
# supervisor starts the three servers as its children and collects them when they exit, so a
# stopped world leaves no zombie behind. `down` signals the whole process group, which also
# reaches exim's per-connection children.
set -Eeuo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Every working MX host is 127.0.0.1. The tarpit is a second exim listener; nothing listens on
# the refused host, so connections to it are refused.
readonly TARPIT_HOST=127.0.0.3
readonly REFUSED_HOST=127.0.0.2
readonly SERVERS=(unbound dnsdist exim)
# How long `up` waits for the servers, in milliseconds. They are ready in well under a second.
readonly START_TIMEOUT_MS=5000
# How long `down` waits after TERM before it sends KILL, in tenths of a second.
readonly STOP_GRACE_TENTHS=20

die() {
  printf 'world.sh: %s\n' "$*" >&2
  exit 1
}

usage() {
  die "usage: world.sh up DIR | world.sh down DIR"
}

now_ms() {
  local t=${EPOCHREALTIME/./}
  printf '%s' "${t:0:-3}"
}

# Whether a TCP or UDP socket of this machine has the port as its local port. Sockets in
# TIME_WAIT (state 06) do not count: the servers bind with SO_REUSEADDR, which ignores them.
port_in_use() {
  local hex
  printf -v hex '%04X' "$1"
  awk -v port=":$hex" 'substr($2, length($2) - 4) == port && $4 != "06" { found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}

# Ports this world has already taken (pick_port runs in a subshell and cannot record them).
declare -a taken_ports=()

# Where free ports are picked: below the kernel's ephemeral range (ip_local_port_range), from
# which every outgoing connection of this machine takes its local port. A port picked inside it
# can be taken by some client's connect() between the pick and the server's bind(); that once
# failed a CI run (exim: "Address already in use"). Above the range when there is no room below.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { eph_lo=32768 eph_hi=60999; }
if ((eph_lo > 12000)); then
  readonly PORT_LO=10000 PORT_SPAN=$((eph_lo - 10000))
elif ((eph_hi < 63000)); then
  readonly PORT_LO=$((eph_hi + 1)) PORT_SPAN=$((65535 - eph_hi))
else
  readonly PORT_LO=20000 PORT_SPAN=40000
fi

# Prints a port from the variable named $1 when it is set, else a free one. Random picks keep two
# worlds started at the same moment apart; the servers are configured not to share a port, so a
# collision fails loudly instead of splitting traffic, and `up` then tries again with new ports.
pick_port() {
  local fixed=${!1:-} p
  if [[ -n $fixed ]]; then
    [[ $fixed =~ ^[0-9]+$ ]] && ((fixed > 0 && fixed < 65536)) || die "$1=$fixed is not a port"
    port_in_use "$fixed" && die "$1=$fixed: the port is in use"
    p=$fixed
  else
    for _ in $(seq 1 100); do
      p=$((PORT_LO + SRANDOM % PORT_SPAN))
      [[ " ${taken_ports[*]} " == *" $p "* ]] && continue
      port_in_use "$p" || break
    done
  fi
  printf '%s' "$p"
}

# Writes template $1 to $2 with every @NAME@ replaced by vars[NAME].
declare -A vars=()
render() {
  local text name
  text=$(<"$1")
  for name in "${!vars[@]}"; do
    text=${text//@"$name"@/${vars[$name]}}
  done
  [[ $text != *@[A-Z_]*@* ]] || die "$1: a placeholder was left unreplaced"
  printf '%s\n' "$text" >"$2"
}

log_tail() {
  printf '%s\n' "--- last lines of $1:" >&2
  tail -n 20 "$1" >&2 2>/dev/null || true
}

# The PID that DIR/pids records for $1, if any.
pid_of() {
  local pid name
  while read -r pid name; do
    [[ $name == "$1" ]] && printf '%s' "$pid" && return 0
  done <"$dir/pids"
  return 1
}

unbound_ready() {
  grep -qs 'start of service' "$dir/unbound.log"
}

# A DNS query for the SOA of `test.` (RFC 1035 §4.1), as GET ?dns= (RFC 8484 §4.1): ready when
# the answer is HTTP 200 with rcode NOERROR and one answer, which proves unbound answers too.
doh_probe=$(printf '\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x06\x00\x01' |
  base64 -w0 | tr '+/' '-_' | tr -d '=')
dnsdist_ready() {
  local fd hex body
  { exec {fd}<>"/dev/tcp/127.0.0.1/${vars[DOH_PORT]}"; } 2>/dev/null || return 1
  printf 'GET /dns-query?dns=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/dns-message\r\nConnection: close\r\n\r\n' \
    "$doh_probe" >&"$fd" 2>/dev/null || {
    exec {fd}>&-
    return 1
  }
  hex=$(timeout 1 od -An -v -tx1 <&"$fd" | tr -d ' \n') || true
  exec {fd}>&-
  # "HTTP/1.1 200" in hex.
  [[ $hex == 485454502f312e3120323030* ]] || return 1
  body=${hex#*0d0a0d0a}
  # Header bytes 3-4: flags, rcode in the low 4 bits; bytes 7-8: ANCOUNT.
  [[ ${body:7:1} == 0 && ${body:12:4} == 0001 ]]
}

# Ready when the greeting arrives on the main address. QUIT is sent without waiting for the reply.
exim_ready() {
  local fd line=
  { exec {fd}<>"/dev/tcp/127.0.0.1/${vars[SMTP_PORT]}"; } 2>/dev/null || return 1
  read -r -t 1 -u "$fd" line || true
  printf 'QUIT\r\n' >&"$fd" 2>/dev/null || true
  exec {fd}>&-
  [[ $line == 220\ * ]]
}

pick_ports() {
  taken_ports=()
  local name
  for name in DOH DNS SMTP UNBOUND; do
    vars[${name}_PORT]=$(pick_port "MAILVET_WORLD_${name}_PORT")
    taken_ports+=("${vars[${name}_PORT]}")
  done
}

# Writes every server's configuration into the world's directory.
configure() {
  local zone name
  render "$here/unbound.conf.in" "$dir/unbound.conf"
  for zone in "$here"/zones/*.zone; do
    name=$(basename "$zone" .zone)
    cp "$zone" "$dir/zones/"
    printf 'server:\n  local-zone: "%s." transparent\nauth-zone:\n  name: "%s."\n  zonefile: "%s"\n  for-downstream: no\n  for-upstream: yes\n  fallback-enabled: no\n' \
      "$name" "$name" "$dir/zones/$name.zone" >>"$dir/unbound.conf"
  done
  render "$here/dnsdist.conf.in" "$dir/dnsdist.conf"
  render "$here/exim.conf.in" "$dir/exim.conf"
  cp "$here/mailboxes" "$dir/mailboxes"
}

# Whether a server said that its port was taken. exim does not exit then: it waits 30 s and
# tries again, so its log is read while it waits.
port_taken() {
  grep -qs 'Address already in use' "$dir"/{unbound,dnsdist,exim}.log "$dir"/exim/log/{mainlog,paniclog}
}

# Starts the supervisor and waits until every server answers. Returns 1 when a server lost its
# port to another process (the world is still running then); ends `up` on any other failure.
start_and_wait() {
  : >"$dir/pids"
  # setsid execs at once here (a background job is no group leader), so $! is the supervisor.
  setsid "$here/world.sh" supervise "$dir" </dev/null >"$dir/supervisor.log" 2>&1 &
  printf '%s supervisor\n' "$!" >>"$dir/pids"

  local deadline=$(($(now_ms) + START_TIMEOUT_MS)) waiting=("${SERVERS[@]}") still s pid
  while :; do
    still=()
    for s in "${waiting[@]}"; do
      if ! pid=$(pid_of "$s"); then
        still+=("$s")
      elif ! kill -0 "$pid" 2>/dev/null; then
        port_taken && return 1
        log_tail "$dir/$s.log"
        [[ $s == exim ]] && log_tail "$dir/exim/log/paniclog"
        fail "$s exited at start"
      # dnsdist is asked through unbound, so it is only asked once unbound is up.
      elif [[ $s == dnsdist && " ${still[*]} " == *" unbound "* ]] || ! "${s}_ready"; then
        still+=("$s")
      fi
    done
    waiting=("${still[@]}")
    ((${#waiting[@]} == 0)) && return 0
    port_taken && return 1
    if (($(now_ms) > deadline)); then
      for s in "${waiting[@]}"; do log_tail "$dir/$s.log"; done
      [[ " ${waiting[*]} " == *" exim "* ]] && log_tail "$dir/exim/log/mainlog"
      fail "not answering after $((START_TIMEOUT_MS / 1000)) s: ${waiting[*]}"
    fi
    sleep 0.01
  done
}

up() {
  [[ -e $dir/pids ]] && die "$dir/pids exists: run 'world.sh down $dir' first"
  mkdir -p "$dir"/{zones,tls,exim/spool,exim/log}
  dir=$(cd "$dir" && pwd)

  vars[DIR]=$dir
  vars[TARPIT_HOST]=$TARPIT_HOST
  # exim also answers on ::1, for the AAAA-only MX host, where the loopback has an IPv6 address.
  local ipv6=0
  vars[IPV6_INTERFACE]=''
  if grep -qs '^00000000000000000000000000000001 ' /proc/net/if_inet6; then
    ipv6=1
    vars[IPV6_INTERFACE]=' ; ::1'
  fi
  trap 'fail "a setup step failed (line $LINENO)"' ERR
  trap 'fail "interrupted"' INT TERM

  # A fresh test CA (ca.pem, for clients that check certificates: the MTA-STS policy host of
  # the sender-health tests) and the certificate it signs for STARTTLS and HTTPS. P-256 keeps
  # key generation fast.
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
      -subj '/CN=mailvet test world CA' \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$dir/tls/ca.key" -out "$dir/tls/ca.pem" &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj '/CN=mx.world.test' -keyout "$dir/tls/key.pem" -out "$dir/tls/cert.csr" &&
      printf '%s\n' \
        "subjectAltName=DNS:mx.world.test,DNS:localhost,IP:127.0.0.1,IP:$TARPIT_HOST,DNS:mta-sts.sts.health.test,DNS:mta-sts.stsmismatch.health.test" \
        "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
        >"$dir/tls/cert.ext" &&
      openssl x509 -req -in "$dir/tls/cert.csr" -CA "$dir/tls/ca.pem" -CAkey "$dir/tls/ca.key" \
        -CAcreateserial -days 7 -extfile "$dir/tls/cert.ext" -out "$dir/tls/cert.pem"
  } 2>"$dir/openssl.log" ||
    { log_tail "$dir/openssl.log"; fail "openssl could not make a certificate"; }

  # A server that loses its port to another process between the pick and its bind() is started
  # again on new ports; every other failure ends `up`.
  local attempt
  for attempt in 1 2 3; do
    pick_ports
    configure
    start_and_wait && break
    ((attempt < 3)) || fail "a port was taken by another process $attempt times in a row"
    printf 'world.sh: a port was taken before its server could bind it; new ports\n' >&2
    stop
    rm -f "$dir"/{unbound,dnsdist,exim,supervisor}.log "$dir"/exim/log/*
  done

  cat >"$dir/world.env.tmp" <<EOF
MAILVET_WORLD_DIR=$dir
MAILVET_WORLD_DOH_URL=http://127.0.0.1:${vars[DOH_PORT]}/dns-query
MAILVET_WORLD_DOH_PORT=${vars[DOH_PORT]}
MAILVET_WORLD_DNS_PORT=${vars[DNS_PORT]}
MAILVET_WORLD_UNBOUND_PORT=${vars[UNBOUND_PORT]}
MAILVET_WORLD_SMTP_HOST=127.0.0.1
MAILVET_WORLD_SMTP_PORT=${vars[SMTP_PORT]}
MAILVET_WORLD_SMTP_IPV6=$ipv6
MAILVET_WORLD_TARPIT_HOST=$TARPIT_HOST
MAILVET_WORLD_REFUSED_HOST=$REFUSED_HOST
MAILVET_WORLD_SMTP_LOG=$dir/exim/log/mainlog
MAILVET_WORLD_TLS_CERT=$dir/tls/cert.pem
MAILVET_WORLD_TLS_CA=$dir/tls/ca.pem
EOF
  mv "$dir/world.env.tmp" "$dir/world.env"
  trap - ERR INT TERM
  printf 'world up in %s\n' "$dir" >&2
}

fail() {
  trap - ERR INT TERM
  stop >/dev/null 2>&1 || true
  die "$*; the world is stopped, its logs are in $dir"
}

# Runs in the world's own session (see the top of this file).
supervise() {
  # A handler, not an ignore: the servers inherit ignored signals, and must die on TERM.
  trap ':' TERM
  # Simple commands, so that each $! is the server itself and not a subshell around it.
  unbound -d -c "$dir/unbound.conf" </dev/null >"$dir/unbound.log" 2>&1 &
  printf '%s unbound\n' "$!" >>"$dir/pids"
  dnsdist --supervised --disable-syslog -C "$dir/dnsdist.conf" </dev/null >"$dir/dnsdist.log" 2>&1 &
  printf '%s dnsdist\n' "$!" >>"$dir/pids"
  exim4 -bdf -C "$dir/exim.conf" </dev/null >"$dir/exim.log" 2>&1 &
  printf '%s exim\n' "$!" >>"$dir/pids"
  if [[ -n ${MAILVET_WORLD_OWNER_PID:-} ]]; then
    (
      while kill -0 "$MAILVET_WORLD_OWNER_PID" 2>/dev/null; do sleep 0.5; done
      printf 'world.sh: owner %s ended, stopping the world\n' "$MAILVET_WORLD_OWNER_PID"
      kill -TERM 0
    ) &
  fi
  # `wait` returns early when TERM arrives; wait again until every child is collected.
  until wait; do :; done
}

# Whether PID $1 is gone, or is still one of this world's processes (its command line names
# the world's directory). A reused PID that belongs to someone else is left alone.
ours_or_gone() {
  local cmdline
  [[ -e /proc/$1 ]] || return 0
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 0
  [[ $cmdline == *"$dir"* ]]
}

# Whether any process of the groups "$@" is alive. A zombie is not: it is dead and waits for
# its parent to collect it.
groups_alive() {
  local pgid stat wanted=" $* "
  while read -r pgid stat; do
    [[ $wanted == *" $pgid "* && $stat != Z* ]] && return 0
  done < <(ps -e -o pgid= -o stat=)
  return 1
}

stop() {
  [[ -f $dir/pids ]] || return 0
  local -a targets=()
  local pid name
  while read -r pid name; do
    [[ $pid =~ ^[0-9]+$ ]] || continue
    ours_or_gone "$pid" && targets+=("$pid")
  done <"$dir/pids"
  # The supervisor's PID is the world's process group, which also holds the servers and their
  # children; a group outlives its leader, so the group is signalled, and each PID as well.
  for pid in "${targets[@]}"; do
    kill -TERM -- "-$pid" "$pid" 2>/dev/null || true
  done
  local tenth
  for ((tenth = 0; tenth < STOP_GRACE_TENTHS; tenth++)); do
    groups_alive "${targets[@]}" || break
    sleep 0.1
  done
  for pid in "${targets[@]}"; do
    kill -KILL -- "-$pid" "$pid" 2>/dev/null || true
  done
  rm -f "$dir/pids"
}

(($# == 2)) || usage
dir=$2
case $1 in
up) up ;;
supervise) supervise ;;
down)
  [[ -d $dir ]] || exit 0
  dir=$(cd "$dir" && pwd)
  stop
  ;;
*) usage ;;
esac
