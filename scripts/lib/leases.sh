# shellcheck shell=bash
# Leases let several test runs share one service in a checkout: each run touches a file named by
# its pid in the service's lease folder, and `stop` leaves the service up while another live run
# holds one. Sourced by scripts/postgres.sh and scripts/pulsar.sh.

# other_leases DIR [OWN_PID]: drops our lease and those of runs that are gone; prints the pids of
# live runs still holding one.
other_leases() {
    local dir=$1 own=${2:-} lease
    [ -d "$dir" ] || return 0
    [ -z "$own" ] || rm -f "$dir/$own"
    for lease in "$dir"/*; do
        [ -e "$lease" ] || continue
        if [ -d "/proc/${lease##*/}" ]; then
            echo "${lease##*/}"
        else
            rm -f "$lease"
        fi
    done
}
