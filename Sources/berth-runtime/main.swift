import BerthRuntime

RuntimeCommand.entry()
