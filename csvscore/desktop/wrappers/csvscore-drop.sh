#!/bin/sh
# csvscore drop target for Linux: drop CSV or Excel files onto csvscore.desktop (or run
# this script with the files as arguments) and each one is scored and its result workbook
# opened. Started without files, csvscore asks for them.
# Written by `csvscore install-shortcut`; run that command again to renew it.

program=@@PROGRAM@@

cannot_start() {
    printf '\n%s\n' "csvscore could not be started: $program is missing or broken."
    printf '%s\n' "It may have been moved or uninstalled. Reinstall csvscore, then run" \
        "    csvscore install-shortcut" "to make a new shortcut." ""
    printf 'Press Enter to close this window. '
    # EOF (no terminal) must not hang or fail the script.
    read -r _ || true
    exit 127
}

if [ ! -x "$program" ]; then
    cannot_start
fi
# "$@" passes every dropped name through unchanged; "--" keeps a name like -rf.csv a file.
"$program"@@ARGS@@ drop -- "$@"
status=$?
# 126/127: the shell could not run it, e.g. the Python behind the csvscore script is gone.
if [ "$status" -eq 126 ] || [ "$status" -eq 127 ]; then
    cannot_start
fi
exit "$status"
