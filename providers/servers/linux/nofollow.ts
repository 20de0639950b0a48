/**
 * The two places where the ssh driver's scripts touch a managed path's
 * inode, written so that they never follow a symbolic link, not even one
 * that appears between a check and the operation.
 *
 * Why not the shell tools: `[ -f p ] && base64 < p` and `chmod m p` both
 * follow a link at p, and a check before them leaves a window in which the
 * path can be swapped for a link to /etc/shadow. GNU coreutils 9.1 (Debian
 * 12) has no `chmod --no-dereference`, and `sha256sum`/`base64` open what
 * they are given. So the opening is done here, with O_NOFOLLOW (a final
 * symlink fails with ELOOP), O_NONBLOCK (a FIFO put there does not hang the
 * read) and O_NOCTTY, and the type and identity are checked with fstat on the
 * open descriptor: everything after that works on that inode, whatever
 * happens to the path.
 *
 * - CONTENT_READER (read script): for each `HASH PATH` line on stdin, opens
 *   the path as above if lstat says it is a regular file, and keeps the
 *   descriptor; runs one `sha256sum` over `/dev/fd/N` of all of them (so the
 *   number of processes does not grow with the number of files) and prints
 *   `= PATH` where the desired hash matched, else `c PATH` and the content as
 *   one base64 line (`base64 -w0 /dev/fd/N`, `!` if unreadable). A path that
 *   is not (or no longer) a regular file gets no record: the stat section,
 *   which uses lstat, says what it is, and the parser refuses a File whose
 *   content is missing. Descriptors are opened in batches of 256 to stay far
 *   below the usual limit of 1024.
 * - ATTRS_SETTER (apply script): `PATH TYPE MODE OWNER GROUP REF` opens PATH
 *   as above (TYPE f: must be a regular file, d: a directory), resolves owner
 *   and group (names, or numbers as chown(1) accepts them) before changing
 *   anything, starts from REF's mode and owner if REF is given (the file a
 *   new version replaces, opened the same way), and applies them with
 *   fchown/fchmod on the descriptor: owner first, as chown clears set-id
 *   bits. Fails naming the path when it is a symbolic link.
 *
 * Perl: `perl-base` is Essential in Debian (every Debian/Ubuntu host has it;
 * https://packages.debian.org/bookworm/perl-base, marked "essential"), and
 * Fcntl, Errno, strict and warnings are part of it. Perl's chmod/chown take
 * filehandles and then call fchmod(2)/fchown(2)
 * (https://perldoc.perl.org/functions/chmod: "On systems that support
 * fchmod(2), you may pass filehandles among the files").
 */

export const CONTENT_READER = String.raw`use strict; use warnings;
use Fcntl qw(O_RDONLY O_NOFOLLOW O_NONBLOCK O_NOCTTY F_SETFD);
$| = 1;
my @req;
while (my $l = <STDIN>) { chomp $l; my ($h, $p) = split / /, $l, 2; push @req, [$h, $p] if defined $p; }
while (my @chunk = splice(@req, 0, 256)) {
  my @open;
  for my $r (@chunk) {
    my ($h, $p) = @$r;
    my @l = lstat $p;
    next unless @l && -f _;
    my $fh;
    unless (sysopen($fh, $p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)) {
      print "c $p\n!\n" unless $!{ELOOP} || $!{ENOENT};
      next;
    }
    my @s = stat $fh;
    next unless @s && -f _ && $s[0] == $l[0] && $s[1] == $l[1];
    fcntl($fh, F_SETFD, 0) or die "fcntl: $!";
    push @open, [$h, $p, $fh];
  }
  my %sum;
  my @hashed = grep { $_->[0] =~ /^[0-9a-f]{64}$/ } @open;
  if (@hashed) {
    open(my $out, '-|', 'sha256sum', '--', map { '/dev/fd/' . fileno($_->[2]) } @hashed) or die "sha256sum: $!";
    while (my $line = <$out>) { $sum{$2} = $1 if $line =~ m{^([0-9a-f]{64})  /dev/fd/([0-9]+)$}; }
    close $out;
  }
  for my $o (@open) {
    my ($h, $p, $fh) = @$o;
    my $s = $sum{fileno $fh};
    if (defined $s && $s eq $h) { print "= $p\n"; next; }
    print "c $p\n";
    print "!" if system('base64', '-w0', '/dev/fd/' . fileno $fh) != 0;
    print "\n";
  }
  close $_->[2] for @open;
}
`;

export const ATTRS_SETTER = String.raw`use strict; use warnings;
use Fcntl qw(O_RDONLY O_NOFOLLOW O_NONBLOCK O_NOCTTY :mode);
my ($p, $want, $mode, $owner, $group, $ref) = @ARGV;
sub fail { print STDERR "einklang: $_[0]\n"; exit 1; }
sub link_refused { fail("$_[0] is a symbolic link; einklang never follows links at managed paths (nothing was changed)"); }
sub nofollow {
  my ($q) = @_;
  my @l = lstat $q or fail("$q does not exist");
  link_refused($q) if -l _;
  my $fh;
  sysopen($fh, $q, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) or ($!{ELOOP} ? link_refused($q) : fail("cannot open $q: $!"));
  my @s = stat $fh;
  fail("$q was replaced while being changed (nothing was changed)") unless @s && $s[0] == $l[0] && $s[1] == $l[1];
  return ($fh, @s);
}
my ($fh, @st) = nofollow($p);
fail("$p is not a regular file") if $want eq 'f' && !S_ISREG($st[2]);
fail("$p is not a directory") if $want eq 'd' && !S_ISDIR($st[2]);
my ($m, $u, $g) = (-1, -1, -1);
if (length $ref) {
  my (undef, @r) = nofollow($ref);
  fail("$ref is not a regular file") unless S_ISREG($r[2]);
  ($m, $u, $g) = ($r[2] & 07777, $r[4], $r[5]);
}
if (length $owner) {
  $u = getpwnam($owner);
  $u = $owner if !defined $u && $owner =~ /^[0-9]+$/;
  fail("chown: invalid user: '$owner'") unless defined $u;
}
if (length $group) {
  $g = getgrnam($group);
  $g = $group if !defined $g && $group =~ /^[0-9]+$/;
  fail("chgrp: invalid group: '$group'") unless defined $g;
}
$m = oct($mode) if length $mode;
if ($u != -1 || $g != -1) { chown($u, $g, $fh) or fail("chown $p failed: $!"); }
if ($m != -1) { chmod($m, $fh) or fail("chmod $p failed: $!"); }
`;
