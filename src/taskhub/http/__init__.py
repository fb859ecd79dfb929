"""The HTTP edge shared by every router: how domain errors and bad requests are answered."""
