"""GNN association: bipartite message passing between tracks and detections (docs/gnn.md).

AssignmentSimilarityNet (the GNN association model of a tracking teaching exercise) as
pure functions and an NNX model, trained on MOTChallenge trajectories or synthetic
scenes, and a tracker on the shared lifecycle with a patience tuned per model.

  message_passing  edge features, the fast and the literal reference forms, the loss
  model            AssociationGNN and GNNConfig
  data             labelled detections -> padded graphs; DetectorModel (gt -> detections)
  sequences        an experiment's sources, labelled draws and tracking inputs
  tracker          GNNTracker, GNNTrackerConfig (patience, lost_min_hits)
  evaluation       gate and patience tuning, held-out tracking against baselines
  trainer          the task and protocol of `pipelines.train_gnn`
  checkpoint       export / load with the tuned patience (shipped: gnn_mot17_sim)
  configs          experiment presets
  bench            `python -m pipelines.bench gnn`
"""
