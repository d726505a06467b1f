"""topspark_ros: energy-aware SNN perception for ROS 2 robots (TopSpark, Putra & Shafique 2023)."""

__version__ = '0.1.0'
