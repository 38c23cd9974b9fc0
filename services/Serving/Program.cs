using Platform.Contracts;
using Platform.Serving;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(AppTopology.Serving);
builder.AddServing();

var app = builder.Build();
app.MapServiceDefaults();
app.MapServing();
app.Run();
