"""What several platform instances share through Redis: the message bus, leases
(which instance does a job only one may do) and the Kiwoom token lock."""
