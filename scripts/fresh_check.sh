#!/usr/bin/env bash
# The README's two commands on a bare Debian 12, as the README promises:
# builds a `debootstrap --variant=minbase bookworm` root, copies a clean
# clone of the repository's HEAD into it (and ../shared beside it, read-only,
# when present), and runs, as root in a chroot,
#   scripts/setup.sh && build/nntrain train jobs/models/fashion_cnn.nn --data /usr/share/datasets/fashion-mnist
#   scripts/test.sh
# then prints a summary (each command's status and time; the tests passed,
# skipped with their reasons, and failed). Exit status 0 when both commands
# passed, 1 when one failed, 2 for a usage or set-up error of this script.
#
#   scripts/fresh_check.sh [--root DIR] [--fresh] [--keep] [--cache FILE]
#                          [--mirror URL] [--worktree] [--log FILE] [--exec CMD]
#
# --root DIR   the root's directory. Default: a new /var/tmp/nntrain-fresh.XXXXXX,
#              removed at the end unless --keep. A DIR that already holds a
#              root made by this script is reused as it is (packages installed
#              by the earlier run stay: a quick rerun, not a fresh machine any
#              more); the repository copy in it is replaced (but for --exec).
#              A DIR given is kept.
# --fresh      with --root: delete the root there first and start from a bare one.
# --keep       keep the default root (its path is printed).
# --cache FILE a tar of the bare minbase root: made after debootstrap when FILE
#              does not exist, unpacked instead of running debootstrap when it
#              does (a fresh machine in seconds instead of minutes).
# --mirror URL the Debian archive for debootstrap and the root's apt. Default:
#              the first `deb` source for bookworm in this machine's
#              /etc/apt/sources.list and /etc/apt/sources.list.d/ (its
#              bookworm-security source too, when there is one).
# --worktree   copy the working tree (tracked files as they are now, and
#              untracked files git does not ignore) instead of a clone of HEAD:
#              checks changes before they are committed.
# --log FILE   everything the chroot prints (default /var/tmp/nntrain-fresh-check.<time>.log).
# --exec CMD   run CMD (bash, from the repository copy) in the prepared root
#              instead of the two commands, e.g. --root DIR --exec bash for a
#              look around; its exit status is the script's.
#
# The chroot runs in a private mount namespace (unshare -m), where these are
# mounted, so they disappear with it however the script ends: the root onto
# itself (so that / is a mount point, as on a machine: `ip netns exec` and
# `ip -n`, which scripts/slurm_local.sh uses, begin with `mount --make-rslave
# /` and fail with EINVAL in a chroot into a plain directory), /proc, /sys
# with the cgroup hierarchies under /sys/fs/cgroup, /dev (this machine's,
# with /dev/pts and /dev/shm), /run (a tmpfs, where `ip netns` keeps its
# namespaces) and ../shared read-only. On exit the script also stops, by PID,
# every process still running inside the root (daemons the tests left),
# deletes the veth of a scripts/slurm_local.sh instance left running in the
# root (named in its instance.env) and unmounts anything left under the root.
# The root shares this machine's network (setup.sh needs the archive;
# /etc/resolv.conf is copied in), hostname and kernel, as a container would.
# Needs root, debootstrap (installed with apt-get when missing), git,
# unshare and chroot; about 3 GB of disk for the root and 20-30 minutes on
# 2 cores.
set -uo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
SHARED=$(cd "$REPO/.." && pwd)/shared
SUITE=bookworm
RUN_CMD1='scripts/setup.sh && build/nntrain train jobs/models/fashion_cnn.nn --data /usr/share/datasets/fashion-mnist'
RUN_CMD2='scripts/test.sh'

say() { printf 'fresh_check: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

# ---------------------------------------------------------------- inside
# fresh_check.sh --inside ROOT LOG: runs in the private mount namespace.
if [ "${1:-}" = --inside ]; then
    R=$2
    LOG=$3
    EXEC=${4:-}
    mount --make-rprivate / || exit 2
    mnt() { mount "$@" || { say "error: mount $* failed"; exit 2; }; }
    # The root must be a mount point, as a machine's / is: `ip netns exec`
    # and `ip -n` (scripts/slurm_local.sh) begin with `mount --make-rslave /`,
    # which fails with EINVAL in a chroot into a plain directory.
    mnt --bind "$R" "$R"
    mnt -t proc proc "$R/proc"
    mnt -t sysfs sysfs "$R/sys"
    # The cgroup hierarchies, as this machine has them (v1 controllers on a
    # tmpfs, or the v2 unified hierarchy), as systemd mounts them on a real
    # Debian 12. slurmd (Slurm 22.05) always loads a cgroup plugin; the
    # cgroup/v1 one scripts/slurm_local.sh configures also starts without
    # them (SLURM-NOTES.md), but a machine has them.
    if mountpoint -q /sys/fs/cgroup 2>/dev/null; then
        if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
            mnt -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
        else
            mnt -t tmpfs -o mode=755 cgroup_root "$R/sys/fs/cgroup"
            while read -r _ target fstype opts _; do
                case "$target" in /sys/fs/cgroup/*) ;; *) continue ;; esac
                [ "$fstype" = cgroup ] || [ "$fstype" = cgroup2 ] || continue
                mkdir -p "$R$target"
                if [ "$fstype" = cgroup2 ]; then
                    mnt -t cgroup2 cgroup2 "$R$target"
                else
                    # the controllers (or name=) of this hierarchy, from its options
                    local_opts=$(tr ',' '\n' <<<"$opts" | grep -vxE 'rw|ro|relatime|noatime|nosuid|nodev|noexec' |
                        paste -sd, -)
                    mnt -t cgroup -o "$local_opts" cgroup "$R$target"
                fi
            done < <(cat /proc/mounts)
        fi
    fi
    mnt --rbind /dev "$R/dev"
    mnt -t tmpfs -o mode=755 tmpfs "$R/run"
    mkdir -p "$R/run/lock"
    if [ -d "$R/work/shared" ] && [ -d "$SHARED" ]; then
        mnt --bind "$SHARED" "$R/work/shared"
        mnt -o remount,bind,ro "$R/work/shared"
    fi
    cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null

    # A root login's environment, nothing of this one's.
    in_root() {
        chroot "$R" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
            TERM="${TERM:-dumb}" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            /bin/bash -c "cd /work/main && $1"
    }
    run_step() {   # run_step N COMMAND: prints "STEP N rc SECONDS" to the log
        local n=$1 cmd=$2 t0 rc
        t0=$(date +%s)
        printf '\n==== fresh_check: command %s, in the root as root: %s\n' "$n" "$cmd"
        in_root "$cmd" </dev/null
        rc=$?
        printf '==== fresh_check: STEP %s rc=%s seconds=%s\n' "$n" "$rc" "$(($(date +%s) - t0))"
    }
    if [ -n "$EXEC" ]; then
        in_root "$EXEC"
        exit
    fi
    {
        run_step 1 "$RUN_CMD1"
        run_step 2 "$RUN_CMD2"
    } 2>&1 | tee -a "$LOG"
    exit 0
fi

# ---------------------------------------------------------------- outside
ROOT=""
FRESH=0
KEEP=0
CACHE=""
MIRROR=""
WORKTREE=0
EXEC=""
LOG=/var/tmp/nntrain-fresh-check.$(date +%Y%m%d-%H%M%S).log
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=${2:?--root needs a directory}; KEEP=1; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        --keep) KEEP=1; shift ;;
        --cache) CACHE=${2:?--cache needs a file}; shift 2 ;;
        --mirror) MIRROR=${2:?--mirror needs a URL}; shift 2 ;;
        --worktree) WORKTREE=1; shift ;;
        --log) LOG=${2:?--log needs a file}; shift 2 ;;
        --exec) EXEC=${2:?--exec needs a command}; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) die "unknown argument $1 (--help)" ;;
    esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot)"
for c in git unshare setsid chroot mount umount mountpoint tar; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed here"
done
export PATH=$PATH:/usr/sbin:/sbin

# sources: prints "URI SUITE" for every enabled deb source of this machine
sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++; if ($i ~ /^\[/ || $i ~ /\]$/) i++; print $i, $(i + 1) }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'function flush(  n, m, i, j, u, s) {
                 if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
                     n = split(uris, u, " "); m = split(suites, s, " ")
                     for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
                 }
                 types = uris = suites = enabled = ""
             }
             /^[ \t]*#/ { next }
             /^[ \t]*$/ { flush(); next }
             { k = tolower($1); v = $0; sub(/^[^:]*:[ \t]*/, "", v) }
             k == "types:" { types = v } k == "uris:" { uris = v }
             k == "suites:" { suites = v } k == "enabled:" { enabled = v }
             END { flush() }' "$f"
    done
}
SECURITY=""
if [ -z "$MIRROR" ]; then
    MIRROR=$(sources | awk -v s="$SUITE" '$2 == s { print $1; exit }')
    [ -n "$MIRROR" ] || MIRROR=$(sources | awk '$1 ~ /\/debian\/?$/ { print $1; exit }')
    [ -n "$MIRROR" ] || die "no Debian archive among this machine's apt sources: give --mirror URL"
    SECURITY=$(sources | awk -v s="$SUITE-security" '$2 == s { print $1; exit }')
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
        die "apt-get install debootstrap failed"
fi

MARK=.nntrain-fresh-check
if [ -z "$ROOT" ]; then
    ROOT=$(mktemp -d /var/tmp/nntrain-fresh.XXXXXX) || die "mktemp failed"
else
    mkdir -p "$ROOT" || die "cannot create $ROOT"
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" != / ] || die "--root / ?"
fi
chmod 755 "$ROOT"   # the machine's /: apt's _apt user and the tests' nobody must get in
case "$ROOT" in "$REPO"|"$REPO"/*) die "the root must not be inside the repository ($ROOT)" ;; esac

# Nothing of ours may stay mounted under the root: check before any rm -rf.
mounts_under() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts; }
unmount_all() {
    local m
    for m in $(mounts_under "$1" | sort -r); do umount -l "$m" 2>/dev/null; done
    [ -z "$(mounts_under "$1")" ]
}
# pids_in_root: processes whose root directory is the chroot
pids_in_root() {
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        [ "$r" = "$ROOT" ] && echo "${p#/proc/}"
    done
}
stop_root_pids() {
    local pids
    pids=$(pids_in_root | tr '\n' ' ')
    [ -n "${pids// }" ] || return 0
    say "stopping processes left in the root: $pids"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    sleep 3
    pids=$(pids_in_root | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -n "${pids// }" ] && kill -KILL $pids 2>/dev/null
    sleep 1
}
INNER=""
cleanup() {
    local rc=$? l
    trap - EXIT INT TERM
    rm -f "$LOG.start"
    # the inner script, the chroot and everything they started (one process group)
    [ -n "$INNER" ] && kill -TERM -- "-$INNER" 2>/dev/null && sleep 2
    stop_root_pids
    # the veth a Slurm of the tests (scripts/slurm_local.sh) made in this
    # network namespace, which the root shares, when its instance was not
    # stopped (named in its instance.env; others' are left alone)
    for l in "$ROOT"/tmp/*/instance.env; do
        [ -f "$l" ] || continue
        l=$(sed -n 's/^HOSTVETH=\(nnsl-[A-Za-z0-9-]*\)$/\1/p' "$l")
        [ -n "$l" ] && ip link show "$l" >/dev/null 2>&1 && ip link del "$l" 2>/dev/null
    done
    if ! unmount_all "$ROOT"; then
        say "still mounted under $ROOT (left in place): $(mounts_under "$ROOT" | tr '\n' ' ')"
    elif [ "$KEEP" -eq 0 ]; then
        rm -rf --one-file-system "$ROOT"
    else
        say "root kept: $ROOT (reuse it: --root $ROOT)"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'say "interrupted: FAILED"; exit 130' INT TERM

if [ -e "$ROOT/$MARK" ] && [ "$FRESH" -eq 1 ]; then
    unmount_all "$ROOT" || die "cannot unmount everything under $ROOT"
    say "deleting the old root in $ROOT (--fresh)"
    find "$ROOT" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
fi
T_START=$(date +%s)
if [ -e "$ROOT/$MARK" ]; then
    say "reusing the root in $ROOT (made $(head -n1 "$ROOT/$MARK")): what earlier runs installed is still there"
    REUSED=1
else
    [ -z "$(ls -A "$ROOT")" ] || die "$ROOT is not empty and holds no root of this script"
    REUSED=0
    if [ -n "$CACHE" ] && [ -s "$CACHE" ]; then
        say "unpacking the bare minbase root from $CACHE"
        tar -xpf "$CACHE" -C "$ROOT" || die "cannot unpack $CACHE"
    else
        say "debootstrap --variant=minbase $SUITE $ROOT $MIRROR"
        debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$LOG.debootstrap" 2>&1 ||
            { tail -n 20 "$LOG.debootstrap" >&2; die "debootstrap failed (log: $LOG.debootstrap)"; }
        unmount_all "$ROOT" || die "debootstrap left mounts under $ROOT"
        if [ -n "$CACHE" ]; then
            say "saving the bare root to $CACHE"
            tar -cpf "$CACHE.tmp" -C "$ROOT" . && mv "$CACHE.tmp" "$CACHE" || say "could not write $CACHE"
        fi
    fi
    # The archive with its updates and security suites, as the installer
    # configures it (debootstrap writes the main suite only). Nothing else is
    # added: no /etc/hosts (minbase has none; the suite does not need one).
    {
        echo "deb $MIRROR $SUITE main"
        echo "deb $MIRROR $SUITE-updates main"
        [ -n "$SECURITY" ] && echo "deb $SECURITY $SUITE-security main"
    } >"$ROOT/etc/apt/sources.list"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') from $MIRROR ($SUITE, minbase)" >"$ROOT/$MARK"
fi
chmod 755 "$ROOT"   # (a tar made from a mktemp directory would restore 0700)
T_ROOT=$(($(date +%s) - T_START))

# The repository: a clean clone of HEAD (or the working tree), and ../shared.
# --exec in a root that has one keeps it (and its builds).
if [ -n "$EXEC" ] && [ -d "$ROOT/work/main" ]; then
    WHAT="the copy already in the root"
else
    rm -rf --one-file-system "$ROOT/work/main"
fi
mkdir -p "$ROOT/work"
if [ -n "$EXEC" ] && [ -d "$ROOT/work/main" ]; then
    :
elif [ "$WORKTREE" -eq 1 ]; then
    mkdir "$ROOT/work/main"
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -xpf - -C "$ROOT/work/main" || die "copying the working tree failed"
    cp -a "$REPO/.git" "$ROOT/work/main/.git" 2>/dev/null
    WHAT="the working tree of $REPO (HEAD $(git -C "$REPO" rev-parse --short HEAD) plus uncommitted changes)"
else
    git clone --quiet --no-hardlinks "$REPO" "$ROOT/work/main" || die "git clone $REPO failed"
    WHAT="a clone of $REPO at HEAD $(git -C "$ROOT/work/main" rev-parse --short HEAD) ($(git -C "$ROOT/work/main" log -1 --format=%s | cut -c1-60))"
fi
if [ -d "$SHARED" ]; then mkdir -p "$ROOT/work/shared"; else rmdir "$ROOT/work/shared" 2>/dev/null; fi

say "root: $ROOT ($([ $REUSED -eq 1 ] && echo reused || echo "bare minbase, ready in ${T_ROOT} s"))"
say "repository: $WHAT"
if [ -n "$EXEC" ]; then
    SHARED=$SHARED unshare --mount --propagation private "$REPO/scripts/fresh_check.sh" --inside "$ROOT" /dev/null "$EXEC"
    exit
fi
say "log: $LOG"
: >"$LOG"
touch "$LOG.start"
SHARED=$SHARED setsid unshare --mount --propagation private "$REPO/scripts/fresh_check.sh" --inside "$ROOT" "$LOG" &
INNER=$!   # setsid: its own process group, stopped as a whole on exit
wait "$INNER"
inner_rc=$?
INNER=""
stop_root_pids
# CTest's log of every test's output (passed ones too), kept beside the log
TESTLOG=$ROOT/work/main/build-test/Testing/Temporary/LastTest.log
if [ -s "$TESTLOG" ] && [ "$TESTLOG" -nt "$LOG.start" ]; then cp "$TESTLOG" "$LOG.LastTest.log"; else TESTLOG=""; fi
rm -f "$LOG.start"

# ---------------------------------------------------------------- summary
step() { sed -n "s/^==== fresh_check: STEP $1 rc=\([0-9]*\) seconds=\([0-9]*\)\$/\1 \2/p" "$LOG" | tail -n1; }
read -r rc1 s1 <<<"$(step 1)"
read -r rc2 s2 <<<"$(step 2)"
status() { if [ -z "$1" ]; then echo "NOT RUN"; elif [ "$1" -eq 0 ]; then echo "passed"; else echo "FAILED (exit status $1)"; fi; }
{
    echo
    echo "==================== fresh_check summary"
    echo "root:       $ROOT ($([ $REUSED -eq 1 ] && echo "reused, not bare" || echo "bare Debian 12 minbase"), mirror $MIRROR)"
    echo "repository: $WHAT"
    echo "command 1:  $RUN_CMD1"
    echo "            $(status "${rc1:-}")${s1:+ in $s1 s}"
    grep -E '^Test \([0-9]+ samples\)' "$LOG" | head -n1 | sed 's/^/            /'
    echo "command 2:  $RUN_CMD2"
    echo "            $(status "${rc2:-}")${s2:+ in $s2 s}"
    grep -E '^[0-9]+% tests passed' "$LOG" | tail -n1 | sed 's/^/            /'
    grep -E '^Total Test time' "$LOG" | tail -n1 | sed 's/^/            /'
    # the skipped and failed tests with their reasons (scripts/test.sh prints them)
    if grep -q '^Skipped tests and their reasons:' "$LOG"; then
        awk '/^Skipped tests and their reasons:/ { p = 1 } p && /^(  |Skipped)/ { print "            " $0; next } p { p = 0 }' "$LOG"
    elif [ -n "${rc2:-}" ]; then
        echo "            no test skipped"
    fi
    awk '/^The following tests FAILED:/ { p = 1 } p && /^(\t|  |The)/ { print "            " $0; next } p { p = 0 }' "$LOG"
    if [ -n "$TESTLOG" ]; then
        # a program a script wanted and the root lacks, in any test's output
        grep -E 'command not found|: not found$' "$LOG.LastTest.log" | sort -u | head -n 20 |
            sed 's/^/            missing command: /'
    fi
    echo "log:        $LOG"
    [ -n "$TESTLOG" ] && echo "            $LOG.LastTest.log (CTest's log: the output of every test)"
} | tee -a "$LOG"
if [ "$inner_rc" -eq 0 ] && [ "${rc1:-1}" -eq 0 ] && [ "${rc2:-1}" -eq 0 ]; then
    echo "fresh_check: PASSED"
    exit 0
fi
echo "fresh_check: FAILED"
exit 1
