#!/usr/bin/env bash
# A private, throw-away Slurm on this machine, for testing the job scripts in
# jobs/ (tests/slurm/run_jobs.sh) or trying them by hand. Debian's slurmctld,
# slurmd and munged; config, keys, state and logs in a temp directory; no
# systemd; every daemon is stopped by its PID. The layouts and pitfalls are
# the verified ones of SLURM-NOTES.md.
#
#   scripts/slurm_local.sh start [--nodes 1|2] [--cpus C] [--dir DIR]
#   scripts/slurm_local.sh stop [--keep] [DIR]
#   scripts/slurm_local.sh status [DIR]
#
# start prints one line on stdout, the config to export, so that
#   eval "$(scripts/slurm_local.sh start --nodes 2)"
#   sbatch --wait jobs/cifar10.sbatch; sinfo; squeue
#   scripts/slurm_local.sh stop
# works. DIR defaults to a new /tmp/nntrain-slurm-XXXXXX (start) and to the
# directory of $SLURM_CONF (stop, status).
#
# --nodes 1: one slurmd named after this host, on 127.0.0.1.
# --nodes 2: two emulated hosts, node1 and node2, each a slurmd in its own
#   network namespace (10.201.X.1 and .2 on a bridge, X the first free /24;
#   NNTRAIN_SLURM_NET=A.B.C picks another) and UTS namespace (its
#   own hostname), so MPI between them goes over real TCP and Open MPI's
#   shared memory cannot join them (SLURM-NOTES layout B). slurmctld runs in
#   the host's namespace at 10.201.X.254 (a veth into the bridge), so sbatch,
#   squeue and scancel work from an ordinary shell.
# --cpus C: CPUs per node as Slurm sees them (default 2; more than the real
#   cores is allowed: SlurmdParameters=config_overrides).
#
# Exit status of start: 0 running; 3 Slurm cannot start on this machine (a
# program or a privilege is missing: the reason is printed); 1 the daemons
# were started but did not come up (their logs are printed, all is stopped).
# stop cancels the jobs left, shuts the daemons down (scontrol shutdown, then
# SIGTERM/SIGKILL by PID), kills the instance's leftover job processes (found
# by PID: in its namespaces or with its SLURM_CONF), deletes the namespaces
# and removes DIR (kept with --keep).
set -uo pipefail

die() { echo "slurm_local: $*" >&2; exit 1; }
cannot() { echo "slurm_local: cannot start Slurm here: $*" >&2; exit 3; }
log() { echo "slurm_local: $*" >&2; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -s "$1" ] && tr -dc '0-9' <"$1"; }

# wait_gone SECONDS PID...: true when every PID has exited in time
wait_gone() {
    local t=$(($1 * 10)) p left
    shift
    while [ $t -gt 0 ]; do
        left=0
        for p in "$@"; do alive "$p" && left=1; done
        [ $left -eq 0 ] && return 0
        sleep 0.1
        t=$((t - 1))
    done
    return 1
}

# stop_pids PID...: SIGTERM, then SIGKILL after 5 s
stop_pids() {
    local p live=()
    for p in "$@"; do alive "$p" && live+=("$p"); done
    [ ${#live[@]} -eq 0 ] && return 0
    kill -TERM "${live[@]}" 2>/dev/null
    wait_gone 5 "${live[@]}" && return 0
    kill -KILL "${live[@]}" 2>/dev/null
    wait_gone 5 "${live[@]}"
}

# free_port FROM: the first TCP port >= FROM nobody listens on (host namespace)
free_port() {
    local p=$1 used
    used=$(ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')
    while grep -qx "$p" <<<"$used" || grep -qx "$((p + 1))" <<<"$used"; do p=$((p + 2)); done
    echo "$p"
}

conf_dir() {
    local d=${1:-}
    if [ -z "$d" ]; then
        [ -n "${SLURM_CONF:-}" ] || die "no DIR given and SLURM_CONF is not set"
        d=$(dirname "$SLURM_CONF")
    fi
    [ -f "$d/instance.env" ] || die "$d is not a directory made by slurm_local.sh start (no instance.env)"
    echo "$d"
}

# ---------------------------------------------------------------- stop
do_stop() {
    local keep=0 dir=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --keep) keep=1; shift ;;
            -*) die "stop: unknown option $1" ;;
            *) dir=$1; shift ;;
        esac
    done
    dir=$(conf_dir "$dir") || exit 1
    # shellcheck disable=SC1091
    . "$dir/instance.env"
    export SLURM_CONF=$dir/slurm.conf
    local ctld_pid d_pids=() f p
    ctld_pid=$(pid_of "$dir/slurmctld.pid")
    for f in "$dir"/slurmd-*.pid; do [ -e "$f" ] && d_pids+=("$(pid_of "$f")"); done

    if alive "$ctld_pid"; then
        # Jobs first, so that their steps end with the daemons that run them.
        local jobs
        jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            timeout 10 scancel $jobs 2>/dev/null
            local t=100
            while [ $t -gt 0 ] && [ -n "$(timeout 5 squeue -h -o %A 2>/dev/null)" ]; do
                sleep 0.1
                t=$((t - 1))
            done
        fi
        timeout 10 scontrol shutdown >/dev/null 2>&1
    fi
    wait_gone 10 "$ctld_pid" "${d_pids[@]}" || log "daemons still up after scontrol shutdown: stopping them by PID"
    stop_pids "$ctld_pid" "${d_pids[@]}"

    # Leftover processes of this instance only: every process inside its
    # namespaces; daemons' children (environment NNTRAIN_SLURM_DIR=DIR); job
    # processes (SLURM_JOB_ID and SLURM_CONF=DIR/slurm.conf). Never this
    # script or its callers, which may have the same SLURM_CONF exported.
    local left=() ns anc=" " env pids
    p=$$
    while [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do
        anc="$anc$p "
        p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
    done
    for ns in ${NETNS:-}; do
        [ -e "/run/netns/$ns" ] || continue
        read -r -a pids <<<"$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
        left+=(${pids[@]+"${pids[@]}"})
    done
    for f in /proc/[0-9]*/environ; do
        p=${f#/proc/}
        p=${p%/environ}
        env=$(tr '\0' '\n' 2>/dev/null <"$f") || continue
        if grep -qxF "NNTRAIN_SLURM_DIR=$dir" <<<"$env" ||
           { grep -qxF "SLURM_CONF=$dir/slurm.conf" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env"; }; then
            left+=("$p")
        fi
    done
    if [ ${#left[@]} -gt 0 ]; then
        local mine=()
        for p in "${left[@]}"; do
            case "$anc" in *" $p "*) ;; *) [ "$p" != "$BASHPID" ] && mine+=("$p") ;; esac
        done
        [ ${#mine[@]} -gt 0 ] && { log "killing leftover processes ${mine[*]}"; stop_pids "${mine[@]}"; }
    fi

    p=$(pid_of "$dir/munge/munged.pid")
    stop_pids "$p"
    for ns in ${NETNS:-}; do [ -e "/run/netns/$ns" ] && ip netns del "$ns"; done
    [ -n "${HOSTVETH:-}" ] && ip link show "$HOSTVETH" >/dev/null 2>&1 && ip link del "$HOSTVETH"
    if [ $keep -eq 0 ]; then rm -rf "$dir"; else log "kept $dir"; fi
    log "stopped"
}

# ---------------------------------------------------------------- status
do_status() {
    local dir
    dir=$(conf_dir "${1:-}") || exit 1
    # shellcheck disable=SC1091
    . "$dir/instance.env"
    local f p rc=0
    for f in "$dir/munge/munged.pid" "$dir/slurmctld.pid" "$dir"/slurmd-*.pid; do
        p=$(pid_of "$f")
        if alive "$p"; then echo "$(basename "$f" .pid): running (pid $p)"; else echo "$(basename "$f" .pid): not running"; rc=1; fi
    done
    SLURM_CONF=$dir/slurm.conf sinfo -N -o '%N %T %c %O' 2>&1
    echo "export SLURM_CONF=$dir/slurm.conf"
    return $rc
}

# ---------------------------------------------------------------- start
do_start() {
    local nodes=1 cpus=2 dir=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --nodes) nodes=${2:-}; shift 2 ;;
            --cpus) cpus=${2:-}; shift 2 ;;
            --dir) dir=${2:-}; shift 2 ;;
            *) die "start: unknown argument $1 (start [--nodes 1|2] [--cpus C] [--dir DIR])" ;;
        esac
    done
    case "$nodes" in 1|2) ;; *) die "start: --nodes must be 1 or 2, not '$nodes'" ;; esac
    case "$cpus" in ''|*[!0-9]*) die "start: --cpus must be a number" ;; esac

    # Can Slurm start here at all? (exit 3 with the reason when not)
    local c
    for c in slurmctld slurmd munged mungekey scontrol sinfo squeue scancel sbatch srun ss; do
        command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 ||
            cannot "'$c' is not installed (scripts/setup.sh installs slurm-wlm, munge, iproute2)"
    done
    export PATH=$PATH:/usr/sbin:/sbin
    [ "$(id -u)" -eq 0 ] || cannot "slurmd must run as root to start jobs (running as $(id -un))"
    if [ "$nodes" -eq 2 ]; then
        for c in ip nsenter unshare; do
            command -v "$c" >/dev/null 2>&1 || cannot "'$c' is not installed (iproute2, util-linux)"
        done
        unshare --uts true 2>/dev/null || cannot "'unshare --uts' is not permitted (needs CAP_SYS_ADMIN)"
        local probe=nnsl-probe-$$ err
        err=$(ip netns add "$probe" 2>&1) ||
            cannot "'ip netns add' is not permitted (needs CAP_NET_ADMIN and CAP_SYS_ADMIN): ${err//$'\n'/; }"
        # ip -n enters the namespace like `ip netns exec`: it needs / to be a
        # mount point (mount --make-rslave /), which a plain chroot's is not.
        if ! err=$(ip -n "$probe" link add br0 type bridge 2>&1) ||
           ! err=$(ip -n "$probe" link add v0 type veth peer name v1 2>&1); then
            ip netns del "$probe"
            case "$err" in
                *make-rslave*) cannot "'ip -n' cannot enter a network namespace: / is not a mount point (a chroot? bind-mount its directory onto itself first): ${err//$'\n'/; }" ;;
                *) cannot "bridge or veth interfaces cannot be created (kernel modules bridge, veth): ${err//$'\n'/; }" ;;
            esac
        fi
        ip netns del "$probe"
    fi

    if [ -z "$dir" ]; then
        dir=$(mktemp -d /tmp/nntrain-slurm-XXXXXX) || die "mktemp failed"
    else
        mkdir -p "$dir" || die "cannot create $dir"
        dir=$(cd "$dir" && pwd)
        [ -e "$dir/instance.env" ] && die "$dir already holds an instance: stop it first"
    fi
    chmod 755 "$dir"
    local id host
    id=$(basename "$dir" | tr -cd 'A-Za-z0-9')   # names the namespaces and the veth (15 chars max)
    id=${id: -6}
    [ -z "$id" ] && id=$$
    [ -e "/run/netns/nnsl-$id-0" ] && die "network namespace nnsl-$id-0 exists: another instance uses that name (--dir)"
    host=$(hostname -s)
    mkdir -p "$dir"/{munge,state,log,spool,tmp}
    chmod 755 "$dir/munge"   # munged: the socket directory must be o+x

    local names=() netns="" hostveth="" net="" ctld_addr
    if [ "$nodes" -eq 1 ]; then
        names=("$host")
        ctld_addr=127.0.0.1
    else
        names=(node1 node2)
        # A /24 that no address or route of this host uses yet: 10.201.0,
        # 10.201.1, ... ($NNTRAIN_SLURM_NET, e.g. 10.77.3, picks another).
        if [ -n "${NNTRAIN_SLURM_NET:-}" ]; then
            net=$NNTRAIN_SLURM_NET
        else
            local x=0 used
            used=$(ip -o addr show; ip route show)
            while grep -q "10\.201\.$x\." <<<"$used" && [ $x -lt 250 ]; do x=$((x + 1)); done
            net=10.201.$x
        fi
        ctld_addr=$net.254
        netns="nnsl-$id-0 nnsl-$id-1 nnsl-$id-2"
        hostveth=nnsl-$id
    fi
    local ctld_port d_port
    ctld_port=$(free_port 16817)
    d_port=$((ctld_port + 1))
    cat >"$dir/instance.env" <<EOF
NODES=$nodes
NODE_NAMES="${names[*]}"
NETNS="$netns"
HOSTVETH=$hostveth
NET=$net
EOF
    # From here on, a failure stops whatever was started.
    fail() {
        log "$*"
        local f
        for f in "$dir"/log/*.log; do
            [ -s "$f" ] && { echo "---- $f (last lines)" >&2; tail -n 15 "$f" >&2; }
        done
        do_stop "$dir" >/dev/null 2>&1
        exit 1
    }

    # munge: own key and socket in $dir
    mungekey --create --keyfile="$dir/munge/munge.key" 2>"$dir/log/mungekey.log" ||
        fail "mungekey failed"
    chmod 600 "$dir/munge/munge.key"
    munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket.2" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed" 2>>"$dir/log/munged.log" || fail "munged did not start"

    if [ "$nodes" -eq 2 ]; then
        local ns0=nnsl-$id-0 i
        ip netns add "$ns0" || fail "ip netns add $ns0 failed"
        ip -n "$ns0" link set lo up
        ip -n "$ns0" link add br0 type bridge
        ip -n "$ns0" link set br0 up
        # the host's leg into the bridge, where slurmctld listens
        ip link add "$hostveth" type veth peer name h0 netns "$ns0" || fail "veth $hostveth failed"
        ip -n "$ns0" link set h0 master br0 up
        ip addr add "$ctld_addr/24" dev "$hostveth"
        ip link set "$hostveth" up
        for i in 1 2; do
            ip netns add "nnsl-$id-$i" || fail "ip netns add nnsl-$id-$i failed"
            ip -n "nnsl-$id-$i" link set lo up
            ip -n "$ns0" link add "h$i" type veth peer name eth0 netns "nnsl-$id-$i"
            ip -n "$ns0" link set "h$i" master br0 up
            ip -n "nnsl-$id-$i" addr add "$net.$i/24" dev eth0
            ip -n "nnsl-$id-$i" link set eth0 up
        done
    fi

    echo 'CgroupPlugin=cgroup/v1' >"$dir/cgroup.conf"   # Slurm 22.05 slurmd always loads one
    local n
    {
        cat <<EOF
# Written by scripts/slurm_local.sh start --nodes $nodes: a private test cluster.
ClusterName=nntrain
SlurmctldHost=$host($ctld_addr)
SlurmUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
TmpFS=$dir/tmp/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
MinJobAge=4
KillWait=10
SlurmdParameters=config_overrides
EOF
        if [ "$nodes" -eq 1 ]; then
            echo "NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=1000"
        else
            for i in 1 2; do
                echo "NodeName=node$i NodeHostname=node$i NodeAddr=$net.$i CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=1000"
            done
        fi
        echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    } >"$dir/slurm.conf"
    for n in "${names[@]}"; do mkdir -p "$dir/spool/$n" "$dir/tmp/$n"; done

    export SLURM_CONF=$dir/slurm.conf
    # NNTRAIN_SLURM_DIR marks the daemons' processes for stop.
    NNTRAIN_SLURM_DIR=$dir slurmctld -f "$SLURM_CONF" 2>>"$dir/log/slurmctld.log" ||
        fail "slurmctld did not start"
    if [ "$nodes" -eq 1 ]; then
        NNTRAIN_SLURM_DIR=$dir slurmd -f "$SLURM_CONF" 2>>"$dir/log/slurmd-$host.log" ||
            fail "slurmd did not start"
    else
        for i in 1 2; do
            NNTRAIN_SLURM_DIR=$dir nsenter --net="/run/netns/nnsl-$id-$i" unshare --uts \
                sh -c "hostname node$i && exec slurmd -f '$SLURM_CONF' -N node$i" \
                2>>"$dir/log/slurmd-node$i.log" || fail "slurmd node$i did not start"
        done
    fi

    # Up when every node is idle (30 s at most; it takes well under 1 s).
    local t=300 states
    while :; do
        states=$(sinfo -h -N -o '%T' 2>/dev/null | sort -u | tr '\n' ' ')
        [ "$states" = "idle " ] && [ "$(sinfo -h -N -o %N 2>/dev/null | wc -l)" -eq "$nodes" ] && break
        t=$((t - 1))
        [ $t -le 0 ] && fail "the nodes did not become idle in 30 s (sinfo: '${states}')"
        sleep 0.1
    done
    if ! srun --mpi=list 2>&1 | grep -q pmix; then
        do_stop "$dir" >/dev/null 2>&1
        cannot "Slurm has no pmix MPI plugin (srun --mpi=list; Debian's comes with libpmix2)"
    fi
    log "running: $nodes node(s) (${names[*]}), config $dir"
    echo "export SLURM_CONF=$dir/slurm.conf"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    start) do_start "$@" ;;
    stop) do_stop "$@" ;;
    status) do_status "$@" ;;
    -h|--help|help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) sed -n '8,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
