"""Partners: the seam (`base`), the scripted partner and the model partner."""
