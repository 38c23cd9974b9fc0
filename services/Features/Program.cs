using Platform.Contracts;
using Platform.Features;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(AppTopology.Features);
builder.AddFeatures();

var app = builder.Build();
app.MapServiceDefaults();
app.MapFeatures();
app.Run();
