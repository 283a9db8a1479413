#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real tools over the bastion: rsync (its own protocol over the exec
# channel, both directions) and tar streams, compared byte for byte.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

pcl_require_root_sshd
pcl_require_cmd rsync tar sha256sum
pcl_setup 22266 22267

# A tree with what tends to break transports: binary files of odd sizes,
# an empty file, a 3 MiB file, names with blanks and a newline-free
# unicode name, a symlink, nested and empty directories, odd modes.
SRC=$SCRATCH/src
mkdir -p "$SRC/a/b/c" "$SRC/empty dir" "$SRC/with space"
head -c 3M /dev/urandom > "$SRC/big.bin"
head -c 1 /dev/urandom > "$SRC/a/one"
head -c 65537 /dev/urandom > "$SRC/a/b/c/odd"
: > "$SRC/empty"
printf 'x y\n' > "$SRC/with space/file name"
printf 'unicode\n' > "$SRC/a/ünï"
ln -s ../big.bin "$SRC/a/link"
chmod 0640 "$SRC/a/one"
chmod 0755 "$SRC/a/b/c/odd"
touch -d '2001-02-03 04:05:06' "$SRC/a/one"

# manifest DIR: one line per entry: type, mode, size/link, mtime (files),
# sha256 (files) and path; what "byte-exact tree" means here.
manifest() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
        if [ -L "$p" ]; then
            printf 'l %s -> %s\n' "$p" "$(readlink "$p")"
        elif [ -d "$p" ]; then
            printf 'd %s %s\n' "$(stat -c %a "$p")" "$p"
        else
            printf 'f %s %s %s %s %s\n' "$(stat -c %a "$p")" "$(stat -c %s "$p")" \
                "$(stat -c %Y "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)" "$p"
        fi
    done)
}
WANT=$(manifest "$SRC")
HOME_A=$SCRATCH/home/$USER_A

# rsync runs `$RSH [-l USER] HOST rsync --server ...`.  With RSH = a wrapper
# that is just "ssh to the bastion as USER_A", the rsync HOST becomes the
# first word of the remote command, so `rsync ... db01:dst/` makes ssh send
# "db01 rsync --server ..." and the bastion runs `rsync --server ...` on
# db01: the target name is the rsync host.  (USER@db01:dst would not work:
# rsync turns USER into `-l USER`, which ssh applies to the bastion login.)
pcl_bssh_argv "$USER_A"
{
    echo '#!/bin/sh'
    printf 'exec'
    printf ' %q' timeout -k 5 60 "${PCL_ARGV[@]}"
    printf ' "$@"\n'
} > "$SCRATCH/bin/rsh-bastion"
chmod 755 "$SCRATCH/bin/rsh-bastion"

trace "rsync -a to the target through the bastion"
rsync -a -e "$SCRATCH/bin/rsh-bastion" "$SRC/" db01:up/ > "$SCRATCH/rsync.out" 2>&1
rc=$?
expect_eq "rsync exit status ($(head -c 500 "$SCRATCH/rsync.out"))" 0 "$rc"
expect_eq "tree on the target" "$WANT" "$(manifest "$HOME_A/up")"

trace "rsync -a from the target through the bastion"
rsync -a -e "$SCRATCH/bin/rsh-bastion" db01:up/ "$SCRATCH/down/" > "$SCRATCH/rsync.out" 2>&1
rc=$?
expect_eq "rsync exit status ($(head -c 500 "$SCRATCH/rsync.out"))" 0 "$rc"
expect_eq "tree fetched back" "$WANT" "$(manifest "$SCRATCH/down")"

trace "rsync again: incremental (delta) transfer of a changed file"
printf 'changed\n' >> "$SRC/big.bin"
WANT=$(manifest "$SRC")
rsync -a -e "$SCRATCH/bin/rsh-bastion" "$SRC/" db01:up/ > "$SCRATCH/rsync.out" 2>&1
rc=$?
expect_eq "rsync exit status ($(head -c 500 "$SCRATCH/rsync.out"))" 0 "$rc"
expect_eq "tree on the target" "$WANT" "$(manifest "$HOME_A/up")"

trace "tar stream from the target: ssh bastion db01 -- tar c | tar x"
mkdir -p "$SCRATCH/untar"
bssh "$USER_A" db01 -- tar cf - -C up . 2> "$SCRATCH/tar.err" |
    tar xpf - -C "$SCRATCH/untar"
rc=("${PIPESTATUS[@]}")
expect_eq "exit statuses (ssh, tar) ($(head -c 300 "$SCRATCH/tar.err"))" "0 0" "${rc[*]}"
expect_eq "tree" "$WANT" "$(manifest "$SCRATCH/untar")"

trace "tar stream to the target: tar c | ssh bastion db01 -- tar x"
tar cf - -C "$SRC" . | bssh "$USER_A" db01 -- 'mkdir -p up2 && tar xpf - -C up2' \
    2> "$SCRATCH/tar.err"
rc=("${PIPESTATUS[@]}")
expect_eq "exit statuses (tar, ssh) ($(head -c 300 "$SCRATCH/tar.err"))" "0 0" "${rc[*]}"
expect_eq "tree on the target" "$WANT" "$(manifest "$HOME_A/up2")"

pcl_finish
