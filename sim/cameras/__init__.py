"""Camera feed: synthetic scenes (or real video) analysed with OpenCV like an edge box."""
