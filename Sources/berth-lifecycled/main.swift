import BerthLifecycle

await LifecycleCommand.entry()
