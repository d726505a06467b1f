"""Simulated sensors without ROS: what the simulator nodes publish, computed and tested here."""
