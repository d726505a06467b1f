"""ROS adapters: message <-> NumPy conversions and helpers shared by the nodes."""
