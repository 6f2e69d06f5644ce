@echo off
rem csvscore drop target for Windows: drop CSV or Excel files onto this icon and each
rem one is scored and its result workbook opened. Double-click it to be asked for files.
rem Written by "csvscore install-shortcut"; run that command again to renew it.

rem Delayed expansion stays off wherever a file name or the csvscore path is on the line,
rem so that a "!" in a name is kept (delayed expansion would eat it).
setlocal DisableDelayedExpansion

rem This file is saved as UTF-8. cmd decodes each line of a batch file with the console's
rem code page as it reads it, so switch to UTF-8 (65001) before the lines holding the csvscore
rem path, which may contain accented or non-Latin letters (C:\Users\Zoe\...). The old code
rem page is put back at the end.
set "CSVSCORE_OLD_CP="
for /f "tokens=2 delims=:." %%p in ('chcp') do set "CSVSCORE_OLD_CP=%%p"
chcp 65001 >nul

rem Explorer quotes a dropped name only when it contains a space, so cmd has already cut a
rem name like a&b.csv or a^b.csv apart before this script starts. The untouched command
rem line is in cmdcmdline; csvscore splits it again itself (csvscore.cli.drop.dropped_files).
rem Only delayed expansion copies it without re-parsing it.
setlocal EnableDelayedExpansion
set "CSVSCORE_DROP_CMDLINE=!cmdcmdline!"
rem Started by Explorer ("cmd /c ..."): end with a plain exit, or cmd would go on to run
rem the rest of a name cut at "&" as a command of its own. From an open console: exit /b.
set "CSVSCORE_CLOSE=exit /b"
if /i not "!cmdcmdline:/c =!"=="!cmdcmdline!" set "CSVSCORE_CLOSE=exit"
setlocal DisableDelayedExpansion

if not exist @@PROGRAM@@ goto cannot_start
rem The file list is passed on a line of its own, outside any ( ) block, so a ")" in a name
rem cannot end a block; names Explorer quoted keep their spaces, "&", "^" and percent signs.
rem No "rem" line here holds a percent sign: cmd expands those even in comments.
@@PROGRAM@@@@ARGS@@ drop -- %*
set "CSVSCORE_RC=%ERRORLEVEL%"
rem 9009: cmd could not run the program; 101: the csvscore.exe launcher could not start
rem the Python behind it (moved or uninstalled).
if "%CSVSCORE_RC%"=="9009" goto cannot_start
if "%CSVSCORE_RC%"=="101" goto cannot_start
goto done

:cannot_start
echo.
echo csvscore could not be started: @@PROGRAM@@ is missing or broken.
echo It may have been moved or uninstalled. Reinstall csvscore, then run
echo     csvscore install-shortcut
echo to make a new shortcut.
echo.
pause
set "CSVSCORE_RC=9009"

:done
if defined CSVSCORE_OLD_CP chcp %CSVSCORE_OLD_CP% >nul
%CSVSCORE_CLOSE% %CSVSCORE_RC%
