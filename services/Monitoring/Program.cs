using Platform.Contracts;
using Platform.Monitoring;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(AppTopology.Monitoring);
builder.AddMonitoring();

var app = builder.Build();
app.MapServiceDefaults();
app.MapMonitoring();
app.Run();
