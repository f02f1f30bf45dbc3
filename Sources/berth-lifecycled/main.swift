import BerthLifecycle
BerthLifecycleMain.run()
