"""The ESPnet models: ``model: layerprune`` (supernet training), the one feature pipeline into the
encoder, and the one module that knows what a built model can serve (CTC head per size, learned
masks, trained sizes) and prunes it."""
