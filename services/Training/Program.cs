using Platform.Contracts;
using Platform.Training;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(AppTopology.Training);
builder.AddTraining();

var app = builder.Build();
app.MapServiceDefaults();
app.MapTraining();
app.Run();
