-- csvscore drop target for macOS, compiled by `csvscore install-shortcut` into csvscore.app.
-- Drop CSV or Excel files onto csvscore.app and Terminal opens and scores each one, then
-- opens its result workbook. Double-click it and Terminal asks for the files instead.
-- Finder hands dropped files to apps only, not to a .command file: this app passes them on
-- to csvscore-drop.command, which runs csvscore. Run install-shortcut again to renew it.

on csvscoreCommandFile()
	return "@@COMMAND@@"
end csvscoreCommandFile

on open droppedItems
	-- quoted form of: one single-quoted shell word per file, whatever its name holds
	-- (spaces, quotes, $, backticks, accents...); the .command passes them on after "--".
	set commandLine to quoted form of csvscoreCommandFile()
	repeat with droppedItem in droppedItems
		set commandLine to commandLine & " " & quoted form of POSIX path of droppedItem
	end repeat
	runInTerminal(commandLine)
end open

on run
	-- Double-click: no files, so csvscore asks for them in the Terminal window.
	runInTerminal(quoted form of csvscoreCommandFile())
end run

on runInTerminal(commandLine)
	try
		tell application "Terminal"
			activate
			-- exec: the window's shell ends with csvscore, as when the .command is opened.
			do script "exec " & commandLine
		end tell
	on error errorText number errorNumber
		-- Typically -1743: the user said no when macOS asked whether csvscore may control
		-- Terminal.
		display alert "csvscore could not open Terminal" message (errorText & " (" & errorNumber & ")" & return & return & "Allow csvscore to control Terminal in System Settings > Privacy & Security > Automation, or double-click csvscore-drop.command on your Desktop and drag your files into its window.")
	end try
end runInTerminal
