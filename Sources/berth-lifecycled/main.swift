import BerthLifecycle

await LifecycleCommand.main()
