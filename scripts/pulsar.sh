#!/usr/bin/env bash
# A real Apache Pulsar standalone broker for the tests, on 127.0.0.1, with its data in var/pulsar.
#
#   bash scripts/pulsar.sh start         get Pulsar if needed, start the broker (keeping the data
#                                        of earlier runs) and wait until it is ready: its health
#                                        check answers ok and namespace public/default exists; not
#                                        ready within ${PCOORD_PULSAR_READY_SECONDS:-180}s: kill it,
#                                        fail (running already: just wait until it is ready)
#   bash scripts/pulsar.sh stop          SIGTERM to its process group, SIGKILL after 60s (not
#                                        running: no-op); the data is kept
#   bash scripts/pulsar.sh restart       stop and start again, keeping the data (ignores leases)
#   bash scripts/pulsar.sh kill          SIGKILL at once, as a crash would (ignores leases)
#   bash scripts/pulsar.sh reset         stop it and delete its data (var/pulsar/data)
#   bash scripts/pulsar.sh status        exit 0 if it is running and ready, 1 if not
#   bash scripts/pulsar.sh url [--admin] print pulsar://127.0.0.1:PORT, or its http admin URL
#
# Pulsar comes from Maven Central through mvn: the binary distribution
# org.apache.pulsar:pulsar-server-distribution:${PCOORD_PULSAR_VERSION:-4.0.8}:tar.gz:bin (about
# 245 MB), kept in a local Maven repository under ${PCOORD_PULSAR_HOME:-~/.cache/pcoord/pulsar}/m2,
# checked against the repository's sha1 (and the one pinned in scripts/pulsar/checksums.sha1) and
# unpacked there once. Later starts use that copy and do not reach the network.
#
# The broker runs `bin/pulsar standalone` (broker, one bookie, a RocksDB metadata store) without
# functions worker and stream storage, bound to and advertising 127.0.0.1: broker service port
# ${PCOORD_PULSAR_PORT:-6650}, web/admin port ${PCOORD_PULSAR_WEB_PORT:-8080}; its bookie on a free
# port that it picks on the first start and keeps (it is in the bookie's cookie, in the data).
# Broker deduplication is on (brokerDeduplicationEnabled=true). Its settings: the distribution's
# conf/standalone.conf with the keys of scripts/pulsar/standalone.conf and the ports replaced,
# written to var/pulsar/standalone.conf. Its output goes to var/pulsar/pulsar.log
# (the previous start's to pulsar.log.1), its pid (also its process group) to var/pulsar/pulsar.pid.
# Java: ${PCOORD_PULSAR_JAVA_HOME}, else a JDK 21 or 17 found in $JAVA_HOME, /usr/lib/jvm, /opt or
# on the PATH (Pulsar 4.0 supports those two), else the newest JDK 17+ (a JDK rather than a JRE;
# none at all: Debian's openjdk-17-jdk-headless). Heap and direct memory:
# ${PCOORD_PULSAR_MEM:-"-Xms512m -Xmx1g -XX:MaxDirectMemorySize=1g"}; other JVM options (they
# replace Pulsar's PULSAR_GC): ${PCOORD_PULSAR_JVM_OPTS:-"-XX:+UseG1GC -XX:+PerfDisableSharedMem
# -XX:TieredStopAtLevel=1"} (G1 rather than Pulsar's ZGC with AlwaysPreTouch for a small heap; the
# C1 compiler only, which starts the broker about a second sooner on 2 cores).
#
# After an unclean end (`kill`, a crash, a SIGKILL at `stop`), `start` first deletes the dead
# bookie's registration from the metadata store, which Pulsar 4.0.8 would otherwise trip over
# (scripts/pulsar/DropStaleBookieRegistration.java says how); a clean `stop` leaves
# var/pulsar/stopped-cleanly to skip that.
#
# Several test runs may share one checkout (and so one broker): with PCOORD_PULSAR_LEASE set to
# the pid of a process that lives as long as the run (`make test` passes its shell's), `start`
# records a lease and `stop` leaves the broker running while another live run still holds one.
# Commands that change the broker take turns on var/pulsar.lock.
set -euo pipefail
# shellcheck source=scripts/lib/leases.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/leases.sh"

cd "$(dirname "$0")/.."
root=$(pwd)
version=${PCOORD_PULSAR_VERSION:-4.0.8}
port=${PCOORD_PULSAR_PORT:-6650}
web_port=${PCOORD_PULSAR_WEB_PORT:-8080}
home=${PCOORD_PULSAR_HOME:-${HOME:-/root}/.cache/pcoord/pulsar}
mem=${PCOORD_PULSAR_MEM:--Xms512m -Xmx1g -XX:MaxDirectMemorySize=1g}
jvm_options=${PCOORD_PULSAR_JVM_OPTS:--XX:+UseG1GC -XX:+PerfDisableSharedMem -XX:TieredStopAtLevel=1}
ready_seconds=${PCOORD_PULSAR_READY_SECONDS:-180}
stop_seconds=60

base=$root/var/pulsar
data=$base/data
log=$base/pulsar.log
pidfile=$base/pulsar.pid
clean_stop=$base/stopped-cleanly
leases=$base/leases
conf=$base/standalone.conf
dist=$home/apache-pulsar-$version
artifact=org.apache.pulsar:pulsar-server-distribution:$version:tar.gz:bin
archive=$home/m2/org/apache/pulsar/pulsar-server-distribution/$version/pulsar-server-distribution-$version-bin.tar.gz
dependency_plugin=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

say() { echo "pulsar.sh: $*"; }
die() {
    echo "pulsar.sh: ERROR: $*" >&2
    exit 1
}

usage() { die "usage: bash scripts/pulsar.sh start|stop|restart|kill|reset|status|url [--admin]"; }

broker_url() { echo "pulsar://127.0.0.1:$port"; }
admin_url() { echo "http://127.0.0.1:$web_port"; }

check_settings() {
    local name value
    for name in port web_port ready_seconds; do
        value=${!name}
        [[ "$value" =~ ^[0-9]+$ ]] || die "$name must be a number, not '$value' \
(PCOORD_PULSAR_PORT, PCOORD_PULSAR_WEB_PORT, PCOORD_PULSAR_READY_SECONDS)"
    done
}

take_lock() {
    mkdir -p "$root/var"
    exec 9>"$root/var/pulsar.lock"
    flock -w 600 9 || die "waited 600s for var/pulsar.lock: another scripts/pulsar.sh command \
is still running"
}

# --- Java ----------------------------------------------------------------------------------------

java_major() {
    local major=
    if [ -f "$1/release" ]; then
        major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release")
    fi
    if [ -z "$major" ]; then
        major=$("$1/bin/java" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)
    fi
    echo "${major:-0}"
}

# Installs Debian packages, as root or through sudo; $1 names the step for messages.
apt_install() {
    local step=$1 sudo='' apt_log
    shift
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "step $step: sudo is missing: install Debian's \
$* as root (apt-get install $*)"
        sudo=sudo
    fi
    say "$step: installing Debian's $*"
    apt_log=$(mktemp)
    if ! $sudo apt-get update -qq >"$apt_log" 2>&1 ||
        ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "$@" >>"$apt_log" 2>&1; then
        tail -n 20 "$apt_log" >&2
        rm -f "$apt_log"
        die "step $step: apt-get install $* failed"
    fi
    rm -f "$apt_log"
}

# Sets java_home: PCOORD_PULSAR_JAVA_HOME, else the best Java found (a JDK before a JRE; 21, then
# 17, then the newest 17+);
# none: installs Debian's openjdk-17-jdk-headless (a JDK: see drop_stale_registration).
find_java() {
    if [ -n "${PCOORD_PULSAR_JAVA_HOME:-}" ]; then
        java_home=$PCOORD_PULSAR_JAVA_HOME
        [ -x "$java_home/bin/java" ] || die "step java: PCOORD_PULSAR_JAVA_HOME=$java_home \
has no bin/java"
        [ "$(java_major "$java_home")" -ge 17 ] || die "step java: PCOORD_PULSAR_JAVA_HOME=\
$java_home is Java $(java_major "$java_home"); Pulsar $version needs 17 or newer"
        return 0
    fi
    pick_java
    if [ -z "$java_home" ]; then
        say "java: no Java 17 or newer found in \$JAVA_HOME, /usr/lib/jvm, /opt or the PATH"
        apt_install java openjdk-17-jdk-headless
        pick_java
    fi
    [ -n "$java_home" ] || die "step java: no Java 17 or newer found (looked in \$JAVA_HOME, \
/usr/lib/jvm, /opt and the PATH), even after installing openjdk-17-jdk-headless: set \
PCOORD_PULSAR_JAVA_HOME"
}

pick_java() {
    local candidate major rank best_rank=0 best_major=0 seen=" " on_path=
    if command -v java >/dev/null 2>&1; then
        on_path=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    fi
    java_home=
    for candidate in ${JAVA_HOME:-} /usr/lib/jvm/* /opt/* /opt/java/* $on_path; do
        [ -x "$candidate/bin/java" ] || continue
        candidate=$(readlink -f "$candidate")
        case "$seen" in *" $candidate "*) continue ;; esac
        seen="$seen$candidate "
        major=$(java_major "$candidate")
        case "$major" in
            21) rank=3 ;;
            17) rank=2 ;;
            *) if [ "$major" -gt 17 ]; then rank=1; else continue; fi ;;
        esac
        # A JDK first: a JRE cannot run scripts/pulsar/DropStaleBookieRegistration.java.
        rank=$((rank * 2))
        if [ -x "$candidate/bin/javac" ]; then rank=$((rank + 8)); fi
        if [ "$rank" -gt "$best_rank" ] ||
            { [ "$rank" -eq "$best_rank" ] && [ "$major" -gt "$best_major" ]; }; then
            java_home=$candidate best_rank=$rank best_major=$major
        fi
    done
}

# --- Getting Pulsar ------------------------------------------------------------------------------

# Checks the archive against the sha1 that Maven Central serves beside it and the pinned one.
verify_archive() {
    local quiet=${1:-} actual served pinned
    [ -f "$archive" ] && [ -f "$archive.sha1" ] || return 1
    actual=$(sha1sum "$archive" | cut -d' ' -f1)
    served=$(head -c 40 "$archive.sha1")
    if [ "$actual" != "$served" ]; then
        [ -n "$quiet" ] || say "verify: sha1 of $archive is $actual, Maven Central says $served"
        return 1
    fi
    pinned=$(awk -v v="$version" '$2 == v { print $1 }' "$root/scripts/pulsar/checksums.sha1")
    if [ -n "$pinned" ] && [ "$actual" != "$pinned" ]; then
        [ -n "$quiet" ] || say "verify: sha1 of $archive is $actual, scripts/pulsar/checksums.sha1 \
pins $pinned for $version"
        return 1
    fi
    [ -n "$quiet" ] || if [ -n "$pinned" ]; then
        say "verify: sha1 $actual matches Maven Central's and the pinned one"
    else
        say "verify: sha1 $actual matches Maven Central's (no pinned sha1 for $version in \
scripts/pulsar/checksums.sha1)"
    fi
}

download() {
    command -v mvn >/dev/null 2>&1 || apt_install download maven
    rm -f "$archive" "$archive.sha1"
    say "download: $artifact (about 245 MB) from Maven Central with mvn into $home/m2"
    local started=$SECONDS
    # -C: fail on a checksum mismatch. From $home, so that no project's pom.xml is picked up.
    if ! (cd "$home" && mvn -B -ntp -C -Dstyle.color=never -Dmaven.repo.local="$home/m2" \
        "$dependency_plugin:get" -Dartifact="$artifact" -Dtransitive=false) >"$home/mvn.log" 2>&1
    then
        grep -m 1 '^\[ERROR\]' "$home/mvn.log" >&2 || tail -n 20 "$home/mvn.log" >&2
        die "step download: mvn could not fetch $artifact (log: $home/mvn.log)"
    fi
    [ -f "$archive" ] || die "step download: mvn succeeded but $archive is missing \
(log: $home/mvn.log)"
    say "download: $(du -m "$archive" | cut -f1) MB in $((SECONDS - started))s"
}

unpack() {
    local started=$SECONDS tmp
    say "unpack: into $dist"
    tmp=$(mktemp -d "$home/unpack.XXXXXX")
    tar -xzf "$archive" -C "$tmp" || {
        rm -rf "$tmp"
        die "step unpack: tar could not unpack $archive"
    }
    [ -x "$tmp/apache-pulsar-$version/bin/pulsar" ] || {
        rm -rf "$tmp"
        die "step unpack: $archive has no apache-pulsar-$version/bin/pulsar"
    }
    rm -rf "$dist"
    mv "$tmp/apache-pulsar-$version" "$dist"
    rmdir "$tmp"
    touch "$dist/.pcoord-unpacked"
    say "unpack: done in $((SECONDS - started))s"
}

# Makes sure $dist holds an unpacked, verified Pulsar; checkouts sharing $home take turns.
install_pulsar() {
    [ -f "$dist/.pcoord-unpacked" ] && return 0
    mkdir -p "$home" || die "step download: cannot create $home (PCOORD_PULSAR_HOME)"
    exec 8>"$home/install.lock"
    flock -w 900 8 || die "step download: waited 900s for $home/install.lock"
    if [ ! -f "$dist/.pcoord-unpacked" ]; then
        if verify_archive quiet; then
            say "download: using the cached $archive"
        else
            [ ! -f "$archive" ] || say "download: the cached archive does not match its sha1"
            download
        fi
        verify_archive || die "step verify: $archive does not match its sha1: delete it \
and start again to download it anew"
        unpack
    fi
    exec 8>&-
}

# --- The broker ----------------------------------------------------------------------------------

# Prints the broker's pid if the pid file names a live `pulsar standalone` process.
running_pid() {
    local pid
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -q -e PulsarStandaloneStarter -e '/bin/pulsar standalone' || return 1
    echo "$pid"
}

health() { curl -sf -m 5 "$(admin_url)/admin/v2/brokers/health" 2>/dev/null || true; }

has_default_namespace() {
    curl -sf -m 5 "$(admin_url)/admin/v2/namespaces/public" 2>/dev/null |
        grep -q '"public/default"'
}

is_ready() { [ "$(health)" = ok ] && has_default_namespace; }

show_log() {
    if [ -f "$log" ]; then
        echo "--- last lines of $log:" >&2
        tail -n 30 "$log" >&2
    fi
}

port_taken() {
    command -v ss >/dev/null 2>&1 && ss -ltnH "( sport = :$1 )" 2>/dev/null | grep -q .
}

# The distribution's conf/standalone.conf with each key of scripts/pulsar/standalone.conf and the
# ports replaced in place (or added): a key must not appear twice, since the bookie reads this file
# too, and to it a repeated key is a list.
write_conf() {
    mkdir -p "$base"
    {
        grep -v '^[[:space:]]*#' "$root/scripts/pulsar/standalone.conf" | grep '='
        echo "brokerServicePort=$port"
        echo "webServicePort=$web_port"
    } >"$conf.overrides"
    awk -F= '
        FNR == NR { key = $1; sub(/^[^=]*=/, ""); value[key] = $0; order[++n] = key; next }
        ($1 in value) { if (!done[$1]++) print $1 "=" value[$1]; next }
        { print }
        END {
            print ""
            print "# ---- scripts/pulsar.sh: settings that the distribution does not have"
            for (i = 1; i <= n; i++) if (!done[order[i]]++) print order[i] "=" value[order[i]]
        }
    ' "$conf.overrides" "$dist/conf/standalone.conf" >"$conf.tmp" ||
        die "step config: could not write $conf"
    rm -f "$conf.overrides"
    mv "$conf.tmp" "$conf"
}

# After an unclean end (kill, crash: `stop` did not leave $clean_stop), deletes the bookie's stale
# registration from the metadata store: see scripts/pulsar/DropStaleBookieRegistration.java.
drop_stale_registration() {
    local bookie_id output
    [ -d "$data/metadata" ] && [ ! -f "$clean_stop" ] || return 0
    bookie_id=$(sed -n 's/^bookieHost: "\(.*\)"$/\1/p' "$data/bookkeeper/current/VERSION" \
        2>/dev/null) || true
    [ -n "$bookie_id" ] || return 0
    if [ ! -x "$java_home/bin/javac" ]; then
        say "cleanup: WARNING: $java_home is not a JDK, so the stale registration of bookie \
$bookie_id stays (set PCOORD_PULSAR_JAVA_HOME to a JDK 17+)"
        return 0
    fi
    say "cleanup: the last run did not stop cleanly: dropping bookie $bookie_id's stale registration"
    output=$(cd "$base" && "$java_home/bin/java" -cp "$dist/conf:$dist/lib/*" \
        -Dlog4j.configurationFile=log4j2.yaml -Dpulsar.log.appender=Console \
        -Dpulsar.log.dir="$base" -Dpulsar.log.file=pulsar-standalone.log \
        -Dpulsar.log.level=warn -Dpulsar.log.root.level=warn \
        "$root/scripts/pulsar/DropStaleBookieRegistration.java" "$data/metadata" "$bookie_id" \
        2>&1 9>&- 8>&-) || {
        echo "$output" | tail -n 20 >&2
        die "step cleanup: could not drop the stale bookie registration (metadata in \
$data/metadata; \`bash scripts/pulsar.sh reset\` deletes all data)"
    }
    [ -z "$output" ] || echo "$output" | grep -v WARNING | sed 's/^/pulsar.sh: cleanup: /'
}

# Waits up to 10s for the broker's ports to be free (a broker just killed may hold them briefly).
wait_for_ports() {
    local name value waited=0
    for name in port web_port; do
        value=${!name}
        while port_taken "$value"; do
            if [ "$waited" -ge 100 ]; then
                die "step start: port $value on this machine is taken by another process: stop \
it, or choose other ports (PCOORD_PULSAR_PORT, PCOORD_PULSAR_WEB_PORT)"
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
    done
}

launch() {
    wait_for_ports
    command -v curl >/dev/null 2>&1 || apt_install start curl
    find_java
    install_pulsar
    write_conf
    mkdir -p "$data"
    drop_stale_registration
    rm -f "$clean_stop"
    [ ! -f "$log" ] || mv -f "$log" "$log.1"
    say "start: Pulsar $version standalone with JAVA_HOME=$java_home: broker $(broker_url), \
admin $(admin_url), data in $data"
    # setsid: the broker leads a process group of its own, which `stop` signals. bin/pulsar execs
    # java, so $! is the broker's pid. 8>&- 9>&-: it must not hold the lock files.
    (
        cd "$base"
        export JAVA_HOME="$java_home" PULSAR_MEM="$mem" PULSAR_LOG_DIR="$base" \
            PULSAR_LOG_APPENDER=Console PULSAR_STANDALONE_CONF="$conf" \
            PULSAR_GC="$jvm_options" \
            PULSAR_GC_LOG="-Xlog:gc:file=$base/gc.log:time,uptime:filecount=2,filesize=10M"
        exec setsid nohup "$dist/bin/pulsar" standalone --no-functions-worker --no-stream-storage \
            --advertised-address 127.0.0.1 --bookkeeper-dir "$data/bookkeeper" \
            --metadata-dir "$data/metadata" \
            </dev/null >>"$log" 2>&1 8>&- 9>&-
    ) &
    echo "$!" >"$pidfile"
    disown "$!" # bash says nothing if `wait_until_ready` has to kill it
}

wait_until_ready() {
    local pid=$1 started=$SECONDS elapsed next=10 namespace
    until is_ready; do
        if ! group_alive "$pid"; then
            show_log
            rm -f "$pidfile"
            die "step start: the broker (pid $pid) exited while starting (log: $log)"
        fi
        elapsed=$((SECONDS - started))
        if [ "$elapsed" -ge "$ready_seconds" ]; then
            show_log
            signal_and_wait "$pid" KILL 10 || true
            rm -f "$pidfile"
            die "step wait: the broker was not ready after ${ready_seconds}s (health check \
$(admin_url)/admin/v2/brokers/health and namespace public/default); killed it (log: $log)"
        fi
        if [ "$elapsed" -ge "$next" ]; then
            namespace=missing
            if has_default_namespace; then namespace=present; fi
            say "waiting: ${elapsed}s, health '$(health)', namespace public/default $namespace"
            next=$((next + 10))
        fi
        sleep 1
    done
}

# Whether process group $1 (the broker's) still has a live process. Its leader may be our own
# child (when `start` has to kill it) and then lingers as a zombie until we exit: that is gone,
# once the JVM's other threads have exited too (until then it still holds its ports).
group_alive() {
    local tasks
    kill -0 -- "-$1" 2>/dev/null || return 1
    [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ] || return 0
    tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [ "$tasks" -gt 1 ]
}

# Sends signal $2 to the broker's process group and waits up to $3 seconds for the group to end.
signal_and_wait() {
    local pid=$1 signal=$2 seconds=$3 waited=0
    kill "-$signal" -- "-$pid" 2>/dev/null || true
    while group_alive "$pid"; do
        [ "$waited" -lt "$((seconds * 10))" ] || return 1
        sleep 0.1
        waited=$((waited + 1))
    done
}

start() {
    local pid started=$SECONDS launched
    if pid=$(running_pid); then
        say "already running (pid $pid)"
    else
        launch
        pid=$(cat "$pidfile")
    fi
    launched=$SECONDS
    wait_until_ready "$pid"
    if [ -n "${PCOORD_PULSAR_LEASE:-}" ]; then
        mkdir -p "$leases"
        touch "$leases/$PCOORD_PULSAR_LEASE"
    fi
    say "ready after $((SECONDS - launched))s ($((SECONDS - started))s in all): $(broker_url) \
(admin $(admin_url), pid $pid)"
}

# $1: "force" ignores the leases of other runs.
stop() {
    local pid others
    if ! pid=$(running_pid); then
        rm -f "$pidfile"
        say "not running"
        return 0
    fi
    if [ "${1:-}" != force ]; then
        others=$(other_leases "$leases" "${PCOORD_PULSAR_LEASE:-}")
        if [ -n "${PCOORD_PULSAR_LEASE:-}" ] && [ -n "$others" ]; then
            say "left running: other test runs still use it (pids ${others//$'\n'/ })"
            return 0
        fi
    fi
    say "stopping (pid $pid)"
    if signal_and_wait "$pid" TERM "$stop_seconds"; then
        touch "$clean_stop"
    else
        say "still running ${stop_seconds}s after SIGTERM: sending SIGKILL"
        signal_and_wait "$pid" KILL 10 || die "step stop: process group $pid survives SIGKILL"
    fi
    rm -f "$pidfile"
    say "stopped"
}

kill_now() {
    local pid
    if ! pid=$(running_pid); then
        rm -f "$pidfile"
        say "not running"
        return 0
    fi
    signal_and_wait "$pid" KILL 10 || die "step kill: process group $pid survives SIGKILL"
    rm -f "$pidfile"
    say "killed (pid $pid); the data is kept"
}

status() {
    local pid
    if ! pid=$(running_pid); then
        say "not running"
        return 1
    fi
    if is_ready; then
        say "ready: $(broker_url) (admin $(admin_url), pid $pid)"
    else
        say "running (pid $pid) but not ready: health '$(health)'"
        return 1
    fi
}

check_settings
case "${1:-}" in
    start | stop | restart | kill | reset | status) [ $# -eq 1 ] || usage ;;
    url) [ $# -eq 1 ] || { [ $# -eq 2 ] && [ "$2" = --admin ]; } || usage ;;
    *) usage ;;
esac
case "$1" in
    start)
        take_lock
        start
        ;;
    stop)
        take_lock
        stop
        ;;
    restart)
        take_lock
        stop force
        start
        ;;
    kill)
        take_lock
        kill_now
        ;;
    reset)
        take_lock
        stop force
        rm -rf "$data" "$leases"
        say "deleted $data"
        ;;
    status) status ;;
    url)
        if [ $# -eq 2 ]; then admin_url; else broker_url; fi
        ;;
esac
