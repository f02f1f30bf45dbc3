import BerthEngineServer

await BerthdCommand.entry()
