// VigilStatistics
