"""Facts of the Korea Exchange (tick sizes, price limits, trading hours), shared by
the simulator that imitates it and the platform that checks orders against it."""
