//! The layer graph, written once: CompressAI's `ScaleHyperprior` with its module names. Loading a
//! weight file and random initialisation both build it through a [`WeightSource`].

use super::layers::{Conv, ConvGeometry, Gdn, Layer, Transform};
use crate::error::Result;

/// Where the layers' parameters come from: a weight file or a random generator.
pub(crate) trait WeightSource {
    /// The convolution `name` (`g_a.0`, ...) of the given geometry and channels.
    fn conv(&mut self, name: &str, geometry: ConvGeometry, cin: usize, cout: usize)
        -> Result<Conv>;
    /// The GDN (or IGDN) layer `name` of `channels`.
    fn gdn(&mut self, name: &str, channels: usize, inverse: bool) -> Result<Gdn>;
}

/// The four float transforms.
pub(crate) struct Transforms {
    pub g_a: Transform,
    pub g_s: Transform,
    pub h_a: Transform,
    pub h_s: Transform,
}

/// CompressAI's `conv(cin, cout)`: 5x5, stride 2.
const DOWN: ConvGeometry = ConvGeometry::conv(5, 2);
/// CompressAI's `deconv(cin, cout)`: 5x5 transposed, stride 2.
const UP: ConvGeometry = ConvGeometry::deconv(5, 2);
/// h_a's first and h_s's last layer: 3x3, stride 1.
const SAME: ConvGeometry = ConvGeometry::conv(3, 1);

struct Builder<'a, S> {
    src: &'a mut S,
}

impl<S: WeightSource> Builder<'_, S> {
    fn conv(&mut self, name: &str, g: ConvGeometry, cin: usize, cout: usize) -> Result<Layer> {
        self.src.conv(name, g, cin, cout).map(Layer::Conv)
    }

    fn conv_relu(&mut self, name: &str, g: ConvGeometry, cin: usize, cout: usize) -> Result<Layer> {
        self.src
            .conv(name, g, cin, cout)
            .map(|c| Layer::Conv(c.with_relu()))
    }

    fn gdn(&mut self, name: &str, channels: usize, inverse: bool) -> Result<Layer> {
        self.src.gdn(name, channels, inverse).map(Layer::Gdn)
    }
}

/// The scale hyperprior with N hidden channels (and z channels) and M channels of y. h_a reads
/// |y| (prepared by the codec); h_s ends in a ReLU that gives the scales (or the context model's
/// hyper features).
pub(crate) fn scale_hyperprior(
    n: usize,
    m: usize,
    src: &mut impl WeightSource,
) -> Result<Transforms> {
    let mut b = Builder { src };
    let g_a = vec![
        b.conv("g_a.0", DOWN, 3, n)?,
        b.gdn("g_a.1", n, false)?,
        b.conv("g_a.2", DOWN, n, n)?,
        b.gdn("g_a.3", n, false)?,
        b.conv("g_a.4", DOWN, n, n)?,
        b.gdn("g_a.5", n, false)?,
        b.conv("g_a.6", DOWN, n, m)?,
    ];
    let g_s = vec![
        b.conv("g_s.0", UP, m, n)?,
        b.gdn("g_s.1", n, true)?,
        b.conv("g_s.2", UP, n, n)?,
        b.gdn("g_s.3", n, true)?,
        b.conv("g_s.4", UP, n, n)?,
        b.gdn("g_s.5", n, true)?,
        b.conv("g_s.6", UP, n, 3)?,
    ];
    let h_a = vec![
        b.conv_relu("h_a.0", SAME, m, n)?,
        b.conv_relu("h_a.2", DOWN, n, n)?,
        b.conv("h_a.4", DOWN, n, n)?,
    ];
    let h_s = vec![
        b.conv_relu("h_s.0", UP, n, n)?,
        b.conv_relu("h_s.2", UP, n, n)?,
        b.conv_relu("h_s.4", SAME, n, m)?,
    ];
    let transform = |name, layers| Transform { name, layers };
    Ok(Transforms {
        g_a: transform("g_a", g_a),
        g_s: transform("g_s", g_s),
        h_a: transform("h_a", h_a),
        h_s: transform("h_s", h_s),
    })
}
