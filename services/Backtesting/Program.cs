using Platform.Contracts;
using Platform.Backtesting;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(AppTopology.Backtesting);
builder.AddBacktesting();

var app = builder.Build();
app.MapServiceDefaults();
app.MapBacktesting();
app.Run();
