// BerthWire
