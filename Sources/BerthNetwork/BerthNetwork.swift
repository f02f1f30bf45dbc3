// BerthNetwork: the pieces of container networking below berth-lifecycled's network service.
// CNI plugin invocation (CNI.swift), iptables rules (Firewall.swift), host port reservations
// (PortReservations.swift) and the embedded DNS resolver (DNS/).
