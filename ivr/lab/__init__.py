"""The lab PBX: a real Asterisk 22 in a Debian sid chroot, SIPp and redis-server."""
