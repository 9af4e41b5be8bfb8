// VigilWorkflow
