// monitoring: live quality and drift of the served models.
// - API: `/v1/monitoring`.

using Platform.Monitoring;

await MonitoringService.Module.RunAsync(args);
