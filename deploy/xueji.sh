#!/bin/sh
# The xueji command with the service's settings, for operators:
#   install -m 0755 deploy/xueji.sh /usr/local/bin/xueji
#   sudo -u xueji xueji check
# It reads the same /etc/xueji/xueji.env as the systemd units (keep values
# with spaces or ";" in double quotes there: both read them alike).
set -eu
set -a
. /etc/xueji/xueji.env
set +a
exec /opt/xueji/venv/bin/xueji "$@"
