import BerthEngineServer
BerthEngineServerMain.run()
