"""Faces in pictures: images, MTCNN detection, alignment, FaceNet embeddings, matching and the operating point. Knows no database and no door."""
