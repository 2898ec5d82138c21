"""Trust in a model's answers: "not one of my classes" (an out-of-class score and a threshold)
and probabilities that mean what they say (a temperature), both fitted on held-out photos and
stored in the checkpoint.

Modules: ``features`` (what the scores look at: the spread of each stage's feature maps, with
the logits; torch), ``scores`` (the out-of-class scores and AUROC, numpy), ``calibration`` (temperature, NLL, ECE, numpy),
``record`` (:class:`TrustInfo`: what a checkpoint stores, checked strictly), ``fit`` (from
features to a TrustInfo), ``calibrate`` (a labeled folder and a model to a calibrated
checkpoint: the ``resnet-gui calibrate`` command's core). Scoring is numpy only, so the
ONNX engines report the same score as PyTorch without importing torch.
"""
