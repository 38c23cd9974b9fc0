using Platform.Contracts;
using Platform.MarketData;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(AppTopology.MarketData);
builder.AddMarketData();

var app = builder.Build();
app.MapServiceDefaults();
app.MapMarketData();
app.Run();
