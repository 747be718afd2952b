// Server-paged grids (components/grid.py): when a page's callback says a table's rows changed,
// reload the rows the grid shows. The grid keeps its page, sort and filters and asks the server
// again through getRowsRequest.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.pcGrid = {
    refresh: function (_key, gridId) {
        dash_ag_grid.getApiAsync(gridId).then(function (api) {
            // A grid that got no rows holds no block to refresh: start it again from page one.
            if (api.getDisplayedRowCount() === 0) {
                api.purgeInfiniteCache();
            } else {
                api.refreshInfiniteCache();
            }
        });
        return window.dash_clientside.no_update;
    },
};
