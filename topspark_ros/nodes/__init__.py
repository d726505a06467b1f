"""ROS 2 nodes: thin adapters that convert messages, call the core and publish (one per file)."""
