// BerthRegistry
