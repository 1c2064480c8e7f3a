//! Offline rendering (`filmd render`): compose a film from DICOM image files with no
//! network, to PDF or PNG, so administrators can try layouts and calibration.
//! The images go through the same validation and composition as printed ones.

use crate::config::QueueSettings;
use crate::film::AnnotationFormats;
use crate::film::custom::CustomLayouts;
use crate::film::{
    AreaDensity, Device, DisplayFormat, Film, FilmSize, ImageBox, Magnification, Medium,
    Orientation, PageShape, Polarity, PresentationLut,
};
use std::path::{Path, PathBuf};

/// What `filmd render` composes: its command-line arguments as they are.
#[derive(Debug, Clone, clap::Args)]
pub struct RenderRequest {
    /// DICOM image files, in box order (each frame of a multi-frame file takes a box).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    #[command(flatten)]
    pub film: FilmOptions,
    #[command(flatten)]
    pub image: crate::modality::ImageOptions,
    /// Resolution (default: the queue's).
    #[arg(long)]
    pub dpi: Option<u32>,
}

/// The film box and image box settings a user gives on the command line, shared by
/// `filmd render` (which composes them here) and `filmd print` (which sends them to a
/// Print SCP as Basic Film Box and Image Box attributes, PS3.3 C.13.3 and C.13.5).
#[derive(Debug, Clone, clap::Args)]
pub struct FilmOptions {
    /// Image Display Format, e.g. 'STANDARD\2,2', 'ROW\1,2', 'COL\2,1', SLIDE, 'CUSTOM\1'.
    #[arg(long = "format", default_value = r"STANDARD\1,1")]
    pub display_format: String,
    #[arg(long, default_value = "14INX17IN")]
    pub film_size: String,
    #[arg(long, default_value = "PORTRAIT")]
    pub orientation: String,
    /// REPLICATE, BILINEAR, CUBIC or NONE (default: the queue's).
    #[arg(long)]
    pub magnification: Option<String>,
    #[arg(long = "border", default_value = "BLACK")]
    pub border_density: String,
    #[arg(long = "empty-image", default_value = "BLACK")]
    pub empty_image_density: String,
    /// Hundredths of OD.
    #[arg(long)]
    pub min_density: Option<u16>,
    /// Hundredths of OD.
    #[arg(long)]
    pub max_density: Option<u16>,
    #[arg(long, default_value = "NORMAL")]
    pub polarity: String,
    #[arg(long)]
    pub medium: Option<String>,
    #[arg(long)]
    pub trim: bool,
    /// Annotation Display Format ID, e.g. TOP_BOTTOM (see layouts/annotations.toml).
    #[arg(long)]
    pub annotation_format: Option<String>,
    /// Text of the next annotation position (repeat: position 1, 2, …).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {message}")]
    Image { path: PathBuf, message: String },
    #[error("writing {path}: {message}")]
    Output { path: PathBuf, message: String },
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, RenderError> {
    Err(RenderError::Invalid(msg.into()))
}

/// Builds the film described by `req` for `queue`; `custom` holds the `CUSTOM\i` layouts,
/// `formats` the Annotation Display Formats.
pub fn build_film(
    req: &RenderRequest,
    queue: &QueueSettings,
    custom: &CustomLayouts,
    formats: &AnnotationFormats,
) -> Result<(Film, Device), RenderError> {
    let display_format = DisplayFormat::parse(&req.film.display_format, custom)
        .map_err(|e| RenderError::Invalid(e.to_string()))?;
    let Some(size) = FilmSize::from_id(&req.film.film_size) else {
        return invalid(format!("unknown film size {:?}", req.film.film_size));
    };
    let Some(orientation) = Orientation::from_term(&req.film.orientation) else {
        return invalid(format!(
            "orientation {:?}: use PORTRAIT or LANDSCAPE",
            req.film.orientation
        ));
    };
    let magnification = match &req.film.magnification {
        None => queue.default_magnification,
        Some(term) => Magnification::from_term(term).ok_or_else(|| {
            RenderError::Invalid(format!(
                "magnification {term:?}: use REPLICATE, BILINEAR, CUBIC or NONE"
            ))
        })?,
    };
    let area = |s: &str| {
        AreaDensity::parse(s).ok_or_else(|| {
            RenderError::Invalid(format!(
                "density {s:?}: use BLACK, WHITE or hundredths of OD"
            ))
        })
    };
    let polarity = match req.film.polarity.as_str() {
        "NORMAL" => Polarity::Normal,
        "REVERSE" => Polarity::Reverse,
        p => return invalid(format!("polarity {p:?}: use NORMAL or REVERSE")),
    };
    let medium = match &req.film.medium {
        None => queue.default_medium_type,
        Some(term) => Medium::from_term(term)
            .ok_or_else(|| RenderError::Invalid(format!("medium {term:?}")))?,
    };
    let dpi = req.dpi.unwrap_or(queue.dpi);
    if !(72..=1200).contains(&dpi) {
        return invalid(format!("{dpi} dpi is outside 72..=1200"));
    }
    let mut color = false;
    let mut image_boxes = Vec::new();
    let mut budget = crate::modality::ImageBudget::default();
    for path in &req.images {
        let images =
            crate::modality::load_file_within(path, &req.image, &mut budget).map_err(|e| {
                RenderError::Image {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
        for image in images {
            color |= image.photometric == crate::film::Photometric::Rgb;
            let position = image_boxes.len() as u32 + 1;
            image_boxes.push(ImageBox {
                polarity,
                image: Some(image),
                ..ImageBox::empty(position)
            });
        }
    }
    let clamp = |v: u16| v.clamp(queue.min_density, queue.max_density);
    let film = Film {
        display_format,
        size,
        orientation,
        magnification,
        border_density: area(&req.film.border_density)?,
        empty_image_density: area(&req.film.empty_image_density)?,
        min_density: clamp(req.film.min_density.unwrap_or(queue.default_min_density)),
        max_density: clamp(req.film.max_density.unwrap_or(queue.default_max_density)),
        trim: req.film.trim,
        medium,
        illumination: crate::print::print_job::DEFAULT_ILLUMINATION,
        reflected_ambient_light: crate::print::print_job::DEFAULT_REFLECTED_AMBIENT_LIGHT,
        presentation_lut: PresentationLut::Identity,
        color,
        image_boxes,
        annotations: film_annotations(&req.film, queue, formats)?,
    };
    let device = Device {
        dpi,
        ..queue.device(false)
    };
    // Counted on what the annotation bands leave, as the print service counts a film
    // box's image boxes: a SLIDE film with annotations holds fewer frames.
    let box_count = display_format_box_count(&film, &device);
    if film.image_boxes.len() > box_count {
        return invalid(format!(
            "{} images for {box_count} image boxes",
            film.image_boxes.len()
        ));
    }
    Ok((film, device))
}

/// How many image boxes `film` has on `device`.
fn display_format_box_count(film: &Film, device: &Device) -> usize {
    let area = crate::film::compose::image_area(film, device);
    film.display_format.box_count(&area) as usize
}

/// The annotations of `req`: its texts in the positions of its annotation format, an
/// alias of `queue`'s (`annotation_aliases`) resolved as the print service resolves it.
fn film_annotations(
    req: &FilmOptions,
    queue: &QueueSettings,
    formats: &AnnotationFormats,
) -> Result<Vec<crate::film::Annotation>, RenderError> {
    let Some(given) = &req.annotation_format else {
        return if req.annotations.is_empty() {
            Ok(Vec::new())
        } else {
            invalid("annotation texts need --annotation-format")
        };
    };
    let id = queue.annotation_aliases.resolve(given);
    let Some(count) = formats.positions(id) else {
        let known: Vec<&str> = formats.iter().map(|f| f.id.as_str()).collect();
        return invalid(format!(
            "annotation format {id:?} unknown; defined: {}",
            known.join(", ")
        ));
    };
    if req.annotations.len() > count as usize {
        return invalid(format!(
            "{} annotation texts for the {count} positions of {id}",
            req.annotations.len()
        ));
    }
    let texts: Vec<(u32, Option<String>)> = req
        .annotations
        .iter()
        .zip(1u32..)
        .map(|(t, p)| (p, Some(t.clone())))
        .collect();
    Ok(formats.annotations(id, &texts))
}

/// Composes the film and writes it to `output` (.pdf or .png).
pub fn render(
    req: &RenderRequest,
    queue: &QueueSettings,
    custom: &CustomLayouts,
    formats: &AnnotationFormats,
    output: &Path,
) -> Result<PageShape, RenderError> {
    let (film, device) = build_film(req, queue, custom, formats)?;
    let out_err = |message: String| RenderError::Output {
        path: output.to_path_buf(),
        message,
    };
    let extension = output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (page, bytes) = match extension.as_deref() {
        Some("pdf") => {
            let info = crate::backend::pdf::DocumentInfo {
                title: format!("filmd render {}", film.display_format),
                author: String::new(),
                subject: format!(
                    "{} {} at {} dpi",
                    film.size.id,
                    film.orientation.term(),
                    device.dpi
                ),
                creator: format!("filmd {}", env!("CARGO_PKG_VERSION")),
                created: std::time::SystemTime::now(),
                queue: queue.name.clone(),
                films: vec![crate::outputs::archive::film_metadata(&film)],
                ..Default::default()
            };
            // Compressed while composed, strip by strip.
            let (page, image) = crate::outputs::archive::compose_compressed(&film, &device);
            let pdf = || -> Result<Vec<u8>, crate::backend::pdf::PdfError> {
                let mut builder = crate::backend::pdf::PdfBuilder::new()?;
                builder.add_compressed_page(&page, image)?;
                builder.finish(&info)
            };
            let bytes = pdf().map_err(|e| out_err(e.to_string()))?;
            (page, bytes)
        }
        Some("png") => {
            let (page, image) = crate::outputs::archive::compose_compressed(&film, &device);
            let bytes = crate::backend::png::png_from_zlib(&page, &image)
                .map_err(|e| out_err(e.to_string()))?;
            (page, bytes)
        }
        _ => return Err(out_err("the output must end in .pdf or .png".into())),
    };
    crate::spool::write_durably(output, &bytes).map_err(|e| out_err(e.to_string()))?;
    Ok(page)
}
