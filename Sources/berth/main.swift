import BerthCLI
BerthCLIMain.run()
